/**
 * @file The naming benchmark's figures (bench/naming-metrics.ts) on a hand-made library whose
 * answers are counted by hand: precision, recovery and false names by face, the halves, the
 * reliability bins, who the user names and which cluster they name them by.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { confidenceBin, largestClusterOf, namingFigures, peopleToName, type TruthFace } from '../bench/naming-metrics.ts';

const face = (faceId: number, label: string | null, folder = label ?? 'Ann'): TruthFace => ({ faceId, label, folder });

// Ann is named by cluster {1,2,3}; her faces 4 and 5 are stray. Bob (E–H) and Cid are never named; 9 is a background face.
const faces = [face(1, 'Ann'), face(2, 'Ann'), face(3, 'Ann'), face(4, 'Ann'), face(5, 'Ann'), face(6, 'Bob'), face(7, 'Bob'), face(8, 'Cid'), face(9, null, 'Bob')];
const named = new Map([['Ann', new Set([1, 2, 3])]]);
const suggestions = [
  // An unnamed cluster of Ann's stray face 4, Bob's face 6 and a background face: one right, one false name.
  { faceIds: [4, 6, 9], suggestedLabel: 'Ann', confidence: 0.95 },
  { faceIds: [8], suggestedLabel: 'Ann', confidence: 0.42 },
];

test('precision, recovery and false names are counted by face, background faces left out', () => {
  const f = namingFigures(faces, named, suggestions);
  assert.deepEqual(
    { q: f.questions, faces: f.suggestedFaces, labelled: f.suggestedLabelled, correct: f.correct, bg: f.backgroundSuggested },
    { q: 2, faces: 4, labelled: 3, correct: 1, bg: 1 },
  );
  assert.equal(f.precision, 1 / 3);
  assert.deepEqual([f.recovered, f.strayFaces, f.recovery, f.namedPeopleFaces, f.impostorsInNamed], [1, 2, 0.5, 5, 0]);
  const withImpostor = namingFigures(faces, new Map([['Ann', new Set([1, 2, 3, 7])]]), []);
  assert.deepEqual([withImpostor.impostorsInNamed, withImpostor.neverNamedFaces], [1, 3]);
  assert.deepEqual([f.falseNamed, f.neverNamedFaces, f.falseNames], [2, 3, 2 / 3]);
});

test('a half counts only its own faces, and a question only where it has one', () => {
  const eh = namingFigures(faces, named, suggestions, (f) => f.folder === 'Bob');
  assert.deepEqual([eh.questions, eh.suggestedLabelled, eh.precision, eh.recovery, eh.falseNamed, eh.neverNamedFaces], [1, 1, 0, null, 1, 2]);
});

test('reliability bins hold the shown confidence against the measured accuracy', () => {
  const bins = namingFigures(faces, named, suggestions).reliability;
  assert.equal(bins.length, 10);
  assert.deepEqual(bins[9], { from: 0.9, to: 1, questions: 1, faces: 2, correct: 1, meanConfidence: 0.95, accuracy: 0.5 });
  assert.deepEqual({ ...bins[4], from: 0, to: 0 }, { from: 0, to: 0, questions: 1, faces: 1, correct: 0, meanConfidence: 0.42, accuracy: 0 });
  assert.deepEqual([confidenceBin(1), confidenceBin(0.999), confidenceBin(0.1), confidenceBin(0)], [9, 9, 1, 0]);
});

test('the user names every other person with enough faces, by the cluster they lead with most faces', () => {
  const many = ['Dee', 'Ann', 'Cid', 'Bob'].flatMap((l, i) => Array.from({ length: 6 }, (_, k) => face(i * 10 + k, l)));
  assert.deepEqual(peopleToName([...many, face(99, 'Eve')], 6), ['Ann', 'Cid']);
  const clusters = new Map<number, (string | null)[]>([
    [1, ['Ann', 'Ann', 'Bob', 'Bob', 'Bob']], // Bob leads: not Ann's even though it holds two of hers
    [2, ['Ann', null, null]],
    [3, ['Ann', 'Ann', 'Cid', 'Cid']], // a tie: Ann leads too, and it holds most of her faces
  ]);
  assert.equal(largestClusterOf('Ann', clusters), 3);
  assert.equal(largestClusterOf('Bob', clusters), 1);
  assert.equal(largestClusterOf('Eve', clusters), null);
});

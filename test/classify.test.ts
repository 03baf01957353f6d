/**
 * @file Naming suggestions on real faces: a copy of the portrait sets is indexed with the real
 * pipeline (default embedder, CPU), three Big Bang Theory characters are named with three
 * confirmed faces each, and the namer must name their other faces, stay quiet on most faces of
 * everyone else, train deterministically, and follow the user when names change. Timing is
 * the benchmark's business (bench/naming-eval.ts), not asserted here.
 */
import assert from 'node:assert/strict';
import { basename, dirname, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { Namer, SUGGEST_GATE, trainNamer, type NamedExample } from '../native/people/classify.ts';
import { scalarKernels } from '../native/people/simd-kernels.ts';
import { Store } from '../native/store/index.ts';
import { indexedFixtureCopy } from './indexed-fixture.ts';

interface Face {
  id: number;
  /** `<set>/<person>`, e.g. `faceapi-bbt/leonard`. */
  who: string;
  /** File name, e.g. `leonard4.png`. */
  file: string;
  vector: Float32Array;
}

const NAMED = { leonard: 1, sheldon: 2, penny: 3 } as const;
type Named = keyof typeof NAMED;
const CONFIRMED = ['1', '2', '3'];
const HELD_OUT = ['4', '5'];
/** Most faces of people nobody named must get no suggestion; this is the share allowed. */
const MAX_FALSE_NAME_RATE = 0.05;

const bbt = (name: string) => `faceapi-bbt/${name}`;
const isNamed = (f: Face): f is Face & { who: `faceapi-bbt/${Named}` } => Object.keys(NAMED).some((n) => f.who === bbt(n));
const personOf = (f: Face) => NAMED[basename(f.who) as Named];
const numberOf = (f: Face) => f.file.replace(/\D/g, '');

/** The SVM decision value of `vector` for one named person, from what the namer learnt. */
function marginFor(namer: Namer, personId: number, vector: Float32Array): number {
  const m = namer.models.find((x) => x.personId === personId)!;
  let s = m.bias;
  for (let j = 0; j < vector.length; j++) s += m.weights![j]! * vector[j]!;
  return s;
}

describe('naming suggestions on the portrait sets', () => {
  let faces: Face[];
  let examples: NamedExample[];
  let namer: Namer;

  before(async () => {
    // The portraits indexed once for every test file that needs them (indexed-fixture.ts).
    const { library, db } = await indexedFixtureCopy('portraits');
    const store = new Store(db);
    // The largest face of each portrait is the labelled one.
    faces = store.photos.list().flatMap((p) => {
      const area = (f: { box: { x1: number; x2: number; y1: number; y2: number } }) => (f.box.x2 - f.box.x1) * (f.box.y2 - f.box.y1);
      const face = store.faces.forPhoto(p.id).sort((a, b) => area(b) - area(a))[0];
      const rel = relative(library, p.path);
      return face ? [{ id: face.id, who: dirname(rel).split(/[\\/]/).slice(-2).join('/'), file: basename(rel), vector: face.embedding }] : [];
    });
    store.close();
    examples = faces.filter((f) => isNamed(f) && CONFIRMED.includes(numberOf(f))).map((f) => ({ vector: f.vector, personId: personOf(f), faceId: f.id }));
    namer = trainNamer(examples);
  });

  it('found a face in every bbt portrait', () => {
    for (const name of Object.keys(NAMED)) assert.equal(faces.filter((f) => f.who === bbt(name)).length, 5, name);
    assert.equal(examples.length, 9);
  });

  it('names the held-out faces of the three named characters', () => {
    const heldOut = faces.filter((f) => isNamed(f) && HELD_OUT.includes(numberOf(f)));
    assert.equal(heldOut.length, 6);
    for (const f of heldOut) {
      const s = namer.suggest(f.vector);
      console.log(`  ${f.file}: ${s ? `person ${s.personId}, ${(s.confidence * 100).toFixed(0)}% (score ${s.score.toFixed(3)}, margin ${s.margin.toFixed(2)}, similarity ${s.centroidSimilarity.toFixed(3)})` : 'no suggestion'}`);
      assert.ok(s, `${f.file} gets a suggestion`);
      assert.equal(s.personId, personOf(f), f.file);
      assert.ok(s.confidence > 0.5 && s.confidence <= 1);
    }
  });

  it('gives most faces of people nobody named no suggestion', () => {
    const others = faces.filter((f) => !isNamed(f));
    const suggested = others.filter((f) => namer.suggest(f.vector) !== null);
    const rate = suggested.length / others.length;
    console.log(`  ${suggested.length} of ${others.length} faces of unnamed people got a suggestion (${(rate * 100).toFixed(1)}%): ${suggested.map((f) => `${f.who}/${f.file}`).join(', ') || 'none'}`);
    assert.ok(others.length > 60, `${others.length} faces of other people`);
    assert.ok(rate <= MAX_FALSE_NAME_RATE, `false-name rate ${rate}`);
  });

  it('ranks every held-out face of a named character above every stranger\'s best guess', () => {
    // What the gate relies on: a stranger still has a best guess (the nearest named person), but
    // scores below the named characters' own unseen faces, so one threshold can part them.
    const heldOut = faces.filter((f) => isNamed(f) && HELD_OUT.includes(numberOf(f))).map((f) => namer.best(f.vector)!.score);
    const strangers = faces.filter((f) => !isNamed(f)).map((f) => namer.best(f.vector)!.score);
    const weakestNamed = Math.min(...heldOut), strongestStranger = Math.max(...strangers);
    console.log(`  held-out named faces score ≥ ${weakestNamed.toFixed(3)}, strangers' best guesses ≤ ${strongestStranger.toFixed(3)}, gate ${SUGGEST_GATE}`);
    assert.ok(strangers.every((x) => Number.isFinite(x)), 'every stranger has a best guess');
    assert.ok(weakestNamed > strongestStranger, `named ${weakestNamed} vs stranger ${strongestStranger}`);
    assert.ok(weakestNamed >= SUGGEST_GATE, 'the held-out faces clear the gate');
  });

  it('trains the same namer on the scalar reference kernels as on the SIMD module', () => {
    const reference = Namer.train(examples, undefined, undefined, scalarKernels);
    for (const f of faces) {
      const a = namer.best(f.vector)!, b = reference.best(f.vector)!;
      assert.equal(b.personId, a.personId, f.file);
      assert.ok(Math.abs(a.score - b.score) < 1e-3, `${f.file}: SIMD score ${a.score}, reference ${b.score}`);
    }
  });

  it('names a cluster of a named character, and not one of another character', () => {
    const leonard = faces.filter((f) => f.who === bbt('leonard') && HELD_OUT.includes(numberOf(f))).map((f) => f.vector);
    assert.equal(namer.suggestForCluster(leonard)?.personId, NAMED.leonard);
    for (const other of ['amy', 'howard', 'raj', 'bernadette', 'stuart']) {
      const cluster = faces.filter((f) => f.who === bbt(other)).map((f) => f.vector);
      assert.equal(namer.suggestForCluster(cluster), null, other);
    }
    assert.equal(namer.suggestForCluster([]), null);
  });

  it('trains deterministically, whatever order the faces come in', () => {
    const again = trainNamer([...examples].reverse());
    assert.deepEqual(again.models, namer.models);
    for (const f of faces) assert.deepEqual(again.best(f.vector), namer.best(f.vector), f.file);
  });

  it('follows a name change: retraining moves the suggestion', () => {
    const leonard4 = faces.find((f) => f.who === bbt('leonard') && f.file === 'leonard4.png')!;
    // The user decides the faces named Leonard are someone else (person 7): a warm retrain…
    const moved = examples.map((e) => (e.personId === NAMED.leonard ? { ...e, personId: 7 } : e));
    const warm = namer.retrain(moved);
    assert.equal(warm.stats.warm, true);
    assert.equal(warm.suggest(leonard4.vector)?.personId, 7);
    // …agrees with training from scratch on the same decisions.
    const cold = trainNamer(moved);
    for (const f of faces) {
      const a = warm.best(f.vector)!, b = cold.best(f.vector)!;
      assert.equal(a.personId, b.personId, f.file);
      assert.ok(Math.abs(a.margin - b.margin) < 0.1, `${f.file}: warm margin ${a.margin}, cold ${b.margin}`);
    }
    // Merging Leonard into Sheldon: Leonard's other faces now get Sheldon's name.
    const merged = examples.map((e) => (e.personId === NAMED.leonard ? { ...e, personId: NAMED.sheldon } : e));
    assert.equal(namer.retrain(merged).suggest(leonard4.vector)?.personId, NAMED.sheldon);
  });

  it('learns from a rejected suggestion', () => {
    const leonard4 = faces.find((f) => f.who === bbt('leonard') && f.file === 'leonard4.png')!;
    const before = namer.best(leonard4.vector)!;
    const after = namer.retrain([...examples, { vector: leonard4.vector, personId: NAMED.leonard, faceId: leonard4.id, rejected: true }]);
    const margin = marginFor(after, NAMED.leonard, leonard4.vector);
    console.log(`  leonard4 as Leonard: margin ${before.margin.toFixed(2)} before the rejection, ${margin.toFixed(2)} after`);
    assert.ok(margin < before.margin - 0.5, 'the rejected face moves to the negative side');
    assert.ok(margin < 0);
    // The other held-out Leonard is still best taken for Leonard (with three confirmed faces and
    // one rejected look-alike, whether it still clears the gate is the user's next lesson).
    const leonard5 = faces.find((f) => f.who === bbt('leonard') && f.file === 'leonard5.png')!;
    assert.equal(after.best(leonard5.vector)?.personId, NAMED.leonard);
    const s5 = after.suggest(leonard5.vector);
    assert.ok(s5 === null || s5.personId === NAMED.leonard, 'never named as someone else');
  });

  it('handles degenerate inputs', () => {
    assert.equal(trainNamer([]).suggest(faces[0]!.vector), null);
    // One named person: no negatives, so the SVM term is left out and the centroid decides.
    const solo = trainNamer(examples.filter((e) => e.personId === NAMED.penny));
    const penny4 = faces.find((f) => f.file === 'penny4.png')!;
    assert.equal(solo.suggest(penny4.vector)?.personId, NAMED.penny);
    assert.equal(solo.best(penny4.vector)!.margin, 0);
    assert.throws(() => namer.suggest(new Float32Array(3)), /dimensions/);
  });
});

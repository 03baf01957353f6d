/**
 * "Are these the same person?" on real portraits: the Big Bang Theory characters are indexed
 * (a copy of the shared library, indexed-fixture.ts), then the clustering's output is split as
 * a clustering could split it (some of a character's faces moved to a second machine person,
 * source 'cluster', no user decision). Kith asks about
 * the split that places most faces first; yes merges; no keeps them apart through a full
 * re-cluster and is never asked again; undo brings the question back.
 */
import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import { before, describe, it, mock } from 'node:test';
import { KithEngine } from '../native/api/api.ts';
import type { MergeQuestion } from '../native/api/types.ts';
import { runPeopleCommand } from '../native/cli/people.ts';
import { Store } from '../native/store/index.ts';
import { indexedFixtureCopy } from './indexed-fixture.ts';

describe('merge questions: "Are these the same person?"', () => {
  let engine: KithEngine;
  let store: Store;
  let api: ReturnType<KithEngine['client']>;
  /** The character a face shows (its photo's folder). */
  const who = (faceId: number) => basename(dirname(store.views.photoOfFace(faceId)!.path));
  const faceIdsOf = (personId: number) => store.people.facesOf(personId).map((f) => f.faceId);
  const whoIs = (personId: number) => new Set(faceIdsOf(personId).map(who));
  const personHolding = (character: string) => {
    const p = store.people.summaries().find((s) => s.faceCount > 0 && [...whoIs(s.id)].every((c) => c === character));
    assert.ok(p, `one person holds ${character}`);
    return p.id;
  };
  /** Move the last `n` faces of a person to a new machine person, as a clustering that split them would. */
  const split = (personId: number, n: number) => {
    const faces = faceIdsOf(personId).slice(-n);
    return store.transaction(() => {
      const other = store.people.create(null);
      for (const f of faces) store.people.assign(f, other, 'cluster');
      return other;
    });
  };
  const about = (q: MergeQuestion) => new Set([...whoIs(q.fromId), ...whoIs(q.intoId)]);
  const questionsAbout = async (character: string) => (await api.mergeQuestions()).filter((q) => about(q).has(character));

  before(async () => {
    store = new Store((await indexedFixtureCopy('bbt')).db);
    engine = new KithEngine(store, { device: 'cpu' });
    api = engine.client();
    for (const c of ['leonard', 'penny', 'sheldon']) assert.equal(faceIdsOf(personHolding(c)).length, 5, `${c}'s 5 portraits are one person`);
  });

  it('asks nothing while the clustering has every character whole', async () => {
    assert.deepEqual(await api.mergeQuestions(), []);
  });

  it('asks first about the split whose answer places the most faces, and only about one character at a time', async () => {
    split(personHolding('penny'), 1);
    split(personHolding('leonard'), 2);
    const questions = await api.mergeQuestions();
    for (const q of questions) assert.equal(about(q).size, 1, `question ${q.key} pairs ${[...about(q)].join(' and ')}`);
    assert.deepEqual(questions.map((q) => [...about(q)][0]), ['leonard', 'penny']);
    const first = questions[0]!;
    assert.equal(first.fromFaceCount, 2, 'the smaller part would join the larger');
    assert.equal(first.intoFaceCount, 3);
    assert.ok(first.confidence >= 0.5 && first.confidence <= 1, `confidence ${first.confidence}`);
  });

  it('kith suggest lists them with the ids to answer them by', async () => {
    const lines: string[] = [];
    const log = mock.method(console, 'log', (...args: unknown[]) => void lines.push(args.join(' ')));
    try {
      await runPeopleCommand(engine.client(), 'suggest', [], { all: false, full: false, json: false });
    } finally {
      log.mock.restore();
    }
    const [first] = await api.mergeQuestions();
    assert.ok(lines.some((l) => l.includes('kith apart')), lines.join('\n'));
    assert.ok(lines.some((l) => l.trim().startsWith(`${first!.fromId} ${first!.intoId}:`)), lines.join('\n'));
  });

  it('yes merges the two into one person, and the question is gone', async () => {
    const [q] = await questionsAbout('leonard');
    await api.mergePeople([q!.fromId], q!.intoId);
    assert.equal(faceIdsOf(personHolding('leonard')).length, 5);
    assert.deepEqual(await questionsAbout('leonard'), []);
  });

  it('no keeps them apart through a full re-cluster and is never asked again; undo brings the question back', async () => {
    const [q] = await questionsAbout('penny');
    assert.ok(q, 'penny is asked about');
    await api.notSamePerson(q.fromId, q.intoId);
    assert.deepEqual(await questionsAbout('penny'), []);
    await api.undo();
    assert.equal((await questionsAbout('penny')).length, 1, 'undo: asked again');
    await runPeopleCommand(engine.client(), 'apart', [String(q.fromId), String(q.intoId)], { all: false, full: false, json: false });
    const [lone, rest] = [faceIdsOf(q.fromId), faceIdsOf(q.intoId)];
    await engine.client().cluster(true);
    const holderOf = (f: number) => store.people.assignmentOf(f)?.personId;
    const restHolder = holderOf(rest[0]!);
    assert.ok(rest.every((f) => holderOf(f) === restHolder), 'the four stay together');
    for (const f of lone) assert.notEqual(holderOf(f), restHolder, 'a full re-cluster keeps the lone face apart');
    assert.deepEqual(await questionsAbout('penny'), []);
  });

  it('an unnamed part of a named person is asked once (as a name or a merge); no to it silences both', async () => {
    const sheldon = personHolding('sheldon');
    const part = split(sheldon, 2);
    await api.renamePerson(sheldon, 'Sheldon');
    const named = (await api.suggestions()).filter((s) => s.personId === part);
    const merges = (await api.mergeQuestions()).filter((q) => q.fromId === part);
    assert.equal(named.length + merges.length, 1, 'asked exactly once');
    if (merges.length === 1) assert.equal(merges[0]!.intoName, 'Sheldon');
    await api.notSamePerson(part, sheldon);
    assert.deepEqual((await api.suggestions()).filter((s) => s.personId === part), []);
    assert.deepEqual((await api.mergeQuestions()).filter((q) => q.fromId === part || q.intoId === part), []);
  });
});

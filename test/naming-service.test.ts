/**
 * The naming service at engine level, on real portraits, through the one API (no browser):
 * suggestions appear once people are named (about stray faces clustering left apart), accepting one names the faces (and undo takes it
 * back), declining one is remembered and teaches the namer, confirmed faces and a chosen cover
 * survive a full re-cluster, and bad requests are refused.
 */
import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import { before, describe, it } from 'node:test';
import { KithEngine, type KithClient } from '../native/api/api.ts';
import type { Suggestion } from '../native/api/types.ts';
import { Store } from '../native/store/index.ts';
import { indexedFixtureCopy } from './indexed-fixture.ts';

describe('the naming service', () => {
  let store: Store;
  let api: KithClient;
  /** Character of a face = its photo's folder ("leonard"). */
  const who = (faceId: number) => basename(dirname(store.views.photoOfFace(faceId)!.path));
  const facesOf = async (personId: number) => (await api.person(personId, 0, 1000)).faces;
  const personOf = async (character: string) => {
    for (const p of await api.people(true)) {
      const faces = await facesOf(p.id);
      if (faces.length > 0 && faces.every((f) => who(f.id) === character)) return { ...p, faces };
    }
    throw new Error(`no person holds only ${character}`);
  };
  /**
   * One face of `character` placed by the machine in a person of its own: a stray, as clustering
   * leaves them in a real library (a user's move would also say "not this person").
   */
  const strayOf = async (character: string) => {
    const p = await personOf(character);
    const face = p.faces.at(-1)!;
    const personId = store.transaction(() => {
      const id = store.people.create(null);
      store.people.assign(face.id, id, 'cluster');
      return id;
    });
    return { from: p.id, faceId: face.id, personId };
  };
  const about = (list: Suggestion[], personId: number) => list.find((s) => s.kind === 'person' && s.personId === personId);

  before(async () => {
    const copy = await indexedFixtureCopy('bbt');
    store = new Store(copy.db);
    api = new KithEngine(store, { device: 'cpu' }).client();
  });

  it('asks nothing while nobody is named', async () => {
    assert.deepEqual(await api.suggestions(), []);
  });

  it('once Leonard is named, asks whether a stray face of his is Leonard, and yes names it', async () => {
    const split = await strayOf('leonard');
    assert.deepEqual(await api.suggestions(), [], 'still nobody named');
    // Two people named: with one alone, the namer has no one to tell him from (see the session note).
    await api.renamePerson((await personOf('sheldon')).id, 'Sheldon');
    await api.renamePerson(split.from, 'Leonard');
    const s = about(await api.suggestions(), split.personId);
    assert.ok(s, 'a question about the stray face');
    assert.equal(s.suggestedName, 'Leonard');
    assert.equal(s.suggestedPersonId, split.from);
    assert.deepEqual(s.faceIds, [split.faceId]);
    assert.ok(s.confidence > 0.5 && s.confidence <= 1, `confidence ${s.confidence}`);

    const r = await api.acceptSuggestion(s.key);
    assert.equal(r.label, '1 face named Leonard');
    const leonard = await personOf('leonard');
    assert.equal(leonard.id, split.from);
    assert.equal(leonard.faceCount, 5, 'all five portraits are Leonard again');
    assert.equal(about(await api.suggestions(), split.personId), undefined, 'the question is answered');

    assert.equal((await api.undo())!.label, 'Undid: 1 face named Leonard');
    assert.equal((await facesOf(split.from)).length, 4);
    assert.ok(about(await api.suggestions(), split.personId), 'asked again after undo');
    await api.acceptSuggestion(`person:${split.personId}`);
  });

  it('no is remembered: not asked again, and no re-cluster puts the face back into that person', async () => {
    const split = await strayOf('leonard');
    const s = about(await api.suggestions(), split.personId)!;
    assert.equal(s.suggestedName, 'Leonard');
    await api.rejectSuggestion(s.key);
    assert.equal(about(await api.suggestions(), split.personId), undefined);
    await api.cluster(true);
    const leonard = await personOf('leonard');
    assert.ok(!leonard.faces.some((f) => f.id === split.faceId), 'a full re-cluster keeps the declined face out of Leonard');
    assert.ok(!(await api.suggestions()).some((q) => q.faceIds.includes(split.faceId) && q.suggestedName === 'Leonard'), 'never asked again');
    await assert.rejects(api.acceptSuggestion(s.key), /no open suggestion/);
  });

  it('learns a new name at once: naming Penny brings a question about her stray face', async () => {
    const split = await strayOf('penny');
    assert.ok(!(await api.suggestions()).some((q) => q.suggestedName === 'Penny'));
    await api.renamePerson(split.from, 'Penny');
    const s = about(await api.suggestions(), split.personId);
    assert.equal(s?.suggestedName, 'Penny');
  });

  it('confirmed faces and a chosen cover survive a full re-cluster', async () => {
    const penny = await personOf('penny');
    const [first, second] = penny.faces;
    await api.confirmFaces([first!.id, second!.id], penny.id);
    await api.setCover(penny.id, second!.id);
    await api.cluster(true);
    const after = await api.person(penny.id, 0, 1000);
    assert.equal(after.coverFaceId, second!.id);
    const states = new Map(after.faces.map((f) => [f.id, f.state]));
    assert.equal(states.get(first!.id), 'confirmed');
    assert.equal(states.get(second!.id), 'confirmed');
  });

  it('refuses what makes no sense: unknown suggestions, a cover from someone else', async () => {
    await assert.rejects(api.acceptSuggestion('person:999999'), /no open suggestion/);
    await assert.rejects(api.rejectSuggestion(''), /no open suggestion/);
    const penny = await personOf('penny');
    const sheldon = await personOf('sheldon');
    await assert.rejects(api.setCover(penny.id, sheldon.faces[0]!.id));
    assert.notEqual((await api.person(penny.id)).coverFaceId, sheldon.faces[0]!.id);
  });
});

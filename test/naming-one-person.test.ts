/**
 * @file The user's first named person, at engine level on real portraits: with only Leonard
 * named (nobody to tell him from, so the namer scores by similarity to his faces alone), a
 * stray face of his that clustering left apart is asked about as Leonard, and the other
 * characters' people are not named Leonard. Before SOLO_GATE the namer asked nothing here.
 */
import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import { before, describe, it } from 'node:test';
import { KithEngine, type KithClient } from '../native/api/api.ts';
import { Store } from '../native/store/index.ts';
import { indexedFixtureCopy } from './indexed-fixture.ts';

describe('naming with one named person', () => {
  let store: Store;
  let api: KithClient;
  const who = (faceId: number) => basename(dirname(store.views.photoOfFace(faceId)!.path));

  before(async () => {
    const copy = await indexedFixtureCopy('bbt');
    store = new Store(copy.db);
    api = new KithEngine(store, { device: 'cpu' }).client();
  });

  it('asks about a stray face of the only named person, and names no one else as them', async () => {
    let leonard: { id: number; faces: number[] } | undefined;
    for (const p of await api.people(true)) {
      const faces = (await api.person(p.id, 0, 1000)).faces.map((f) => f.id);
      if (faces.length > 1 && faces.every((f) => who(f) === 'leonard')) leonard = { id: p.id, faces };
    }
    assert.ok(leonard, 'clustering found Leonard');
    const stray = leonard.faces.at(-1)!;
    const strayPerson = store.transaction(() => {
      const id = store.people.create(null);
      store.people.assign(stray, id, 'cluster');
      return id;
    });
    await api.renamePerson(leonard.id, 'Leonard');
    const suggestions = await api.suggestions();
    const s = suggestions.find((x) => x.kind === 'person' && x.personId === strayPerson);
    assert.ok(s, `a question about Leonard's stray face (got ${JSON.stringify(suggestions)})`);
    assert.equal(s.suggestedName, 'Leonard');
    assert.ok(s.confidence > 0.5 && s.confidence <= 1, `confidence ${s.confidence}`);
    const wrong = suggestions.filter((x) => x.faceIds.some((f) => who(f) !== 'leonard'));
    assert.deepEqual(wrong, [], 'no other character named Leonard');
  });
});

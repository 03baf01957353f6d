/**
 * @file Only real people are shown: a group with little evidence (one clear face and one small
 * face in the background of another picture) is listed under "Maybe", not deleted; seven characters with five clear portraits
 * each are shown; naming a Maybe group, or confirming a face in it, shows it. The rule itself
 * (native/people/evidence.ts) is checked on real faces too.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { KithEngine } from '../native/api/api.ts';
import { relativeBox } from '../native/people/cluster.ts';
import { evidenceOf, isMaybe, type EvidenceFace } from '../native/people/evidence.ts';
import { Store } from '../native/store/index.ts';
import { runCli } from './helpers.ts';
import { indexedFixtureCopy } from './indexed-fixture.ts';

describe('Maybe: groups without the evidence of a person', () => {
  let engine: KithEngine;
  let store: Store;
  let api: ReturnType<KithEngine['client']>;
  let stuart: number;
  const evidenceFace = (faceId: number): EvidenceFace => {
    const f = store.faces.get(faceId)!;
    const photo = store.photos.getById(f.photoId)!;
    return { ...f, vector: f.embedding, box: relativeBox(f.box, photo.width, photo.height) };
  };

  before(async () => {
    // maybe-fixture.ts's library, indexed once and copied (indexed-fixture.ts).
    store = new Store((await indexedFixtureCopy('maybe')).db);
    engine = new KithEngine(store, { device: 'cpu' });
    api = engine.client();
    const group = (await api.people()).find((p) => p.faceCount === 2);
    assert.ok(group, "Stuart's portrait and his small face in the crowd form a group of two");
    stuart = group.id;
  });

  it('shows the seven characters with five clear faces, and puts the two-face group under Maybe', async () => {
    const list = await api.people();
    assert.equal(list.length, 8, 'nothing is deleted');
    assert.deepEqual(list.filter((p) => p.maybe).map((p) => p.id), [stuart]);
    assert.equal(list.at(-1)!.id, stuart, 'listed last, where the grid shows it');
    assert.ok(list.filter((p) => !p.maybe).every((p) => p.faceCount === 5));
    assert.equal((await api.person(stuart)).maybe, true);
    assert.equal((await api.status()).people, 7, 'the status bar counts the people the grid shows, not the Maybe group');
  });

  it('kith index and kith cluster report the people the grid shows, as `kith people` does, not the Maybe group', async () => {
    const copy = await indexedFixtureCopy('maybe');
    const indexed = await runCli(['index', copy.library, '--db', copy.db]);
    assert.equal(indexed.code, 0, indexed.stderr);
    assert.match(indexed.stdout, /^ {2}7 people, \d+ faces not yet in a person$/m);
    const listed = await runCli(['people', '--db', copy.db]);
    assert.match(listed.stdout, /^7 people \(0 named\)/m);
    const clustered = await runCli(['cluster', '--full', '--db', copy.db]);
    assert.equal(clustered.code, 0, clustered.stderr);
    assert.match(clustered.stdout, /^full clustering of \d+ faces in \d+ ms: 7 people /m);
  });

  it('counts one clear face as one observation, however many small background ones come with it', () => {
    const faces = store.people.facesOf(stuart).map((a) => evidenceFace(a.faceId));
    const e = evidenceOf(faces);
    assert.deepEqual([e.observations, e.clearObservations], [2, 1]);
    assert.ok(isMaybe(e));
    // Two good faces of one person, clearly alike, are enough.
    const fiveFaced = store.people.summaries().find((p) => p.faceCount === 5)!;
    const two = store.people.facesOf(fiveFaced.id).slice(0, 2).map((a) => evidenceFace(a.faceId));
    assert.ok(!isMaybe(evidenceOf(two)), JSON.stringify(evidenceOf(two)));
  });

  it('shows a Maybe group once the user names it or confirms a face in it', async () => {
    const [face] = store.people.facesOf(stuart);
    await api.confirmFaces([face!.faceId], stuart);
    assert.equal((await api.people()).find((p) => p.id === stuart)?.maybe, false, 'a confirmed face is the user vouching');
    await api.undo();
    assert.equal((await api.people()).find((p) => p.id === stuart)?.maybe, true);
    await api.renamePerson(stuart, 'Stuart');
    assert.equal((await api.people()).find((p) => p.id === stuart)?.maybe, false);
  });
});

/**
 * A user's story on real portraits: Kith indexes them and finds the people; the user names,
 * splits and merges, rejects a face; then the library is re-indexed (a photo renamed) and
 * fully re-clustered, and every decision is still there. Undo walks it back.
 */
import assert from 'node:assert/strict';
import { readFileSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { KithEngine } from '../native/api/api.ts';
import { Store } from '../native/store/index.ts';
import { FACES, copyFaces } from './helpers.ts';
import { indexedFixtureCopy } from './indexed-fixture.ts';

describe('people: clustering and decisions that stick', () => {
  let library: string;
  let engine: KithEngine;
  let store: Store;
  let api: ReturnType<KithEngine['client']>;
  /** Identity of a face = its photo's folder ("faceapi-bbt/leonard"). */
  const who = (faceId: number) => {
    const path = store.views.photoOfFace(faceId)!.path;
    return `${basename(dirname(dirname(path)))}/${basename(dirname(path))}`;
  };
  const facesOfPerson = async (personId: number) => (await api.person(personId, 0, 1000)).faces.map((f) => f.id);
  const personOf = async (identity: string) => {
    for (const p of await api.people(true)) {
      const ids = await facesOfPerson(p.id);
      if (ids.length > 0 && ids.every((id) => who(id) === identity)) return { ...p, faceIds: ids };
    }
    throw new Error(`no person holds only ${identity}`);
  };

  before(async () => {
    // The portraits indexed once for every test file that needs them; this is a copy of its own.
    const copy = await indexedFixtureCopy('portraits');
    library = copy.library;
    store = new Store(copy.db);
    engine = new KithEngine(store, { device: 'cpu' });
    api = engine.client();
  });

  it('finds the eight Big Bang Theory characters as eight people, and never mixes two identities', async () => {
    const status = await api.status();
    assert.equal(status.photos, 129);
    assert.equal(status.indexing, null);
    for (const name of ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart']) {
      const p = await personOf(`faceapi-bbt/${name}`);
      assert.equal(p.faceCount, 5, `${name} has all 5 portraits in one person`);
    }
    for (const p of await api.people(true)) {
      const identities = new Set((await facesOfPerson(p.id)).map(who));
      assert.equal(identities.size, 1, `person ${p.id} mixes ${[...identities].join(', ')}`);
    }
  });

  it('names people; a name differing only by case is the same person', async () => {
    const leonard = await personOf('faceapi-bbt/leonard');
    const sheldon = await personOf('faceapi-bbt/sheldon');
    assert.equal((await api.renamePerson(leonard.id, 'Leonard')).label, 'Named Leonard');
    await api.renamePerson(sheldon.id, ' Sheldon  ');
    const clash = await api.renamePerson(sheldon.id, 'leonard');
    assert.equal(clash.conflictWith, leonard.id);
    const names = (await api.people()).slice(0, 2).map((p) => p.name);
    assert.deepEqual(names.sort(), ['Leonard', 'Sheldon'], 'named people come first');
    const detail = await api.person(leonard.id);
    assert.ok(detail.faces.every((f) => f.state === 'confirmed' && f.personName === 'Leonard'));
  });

  it('splits a person by moving faces out, then merges them back choosing the name', async () => {
    const penny = await personOf('faceapi-bbt/penny');
    const moved = await api.moveFaces(penny.faceIds.slice(0, 2), null);
    const split = moved.personId!;
    assert.deepEqual(await facesOfPerson(split), penny.faceIds.slice(0, 2));
    assert.equal((await facesOfPerson(penny.id)).length, 3);
    await assert.rejects(api.mergePeople([split], 999_999), /no person 999999/);
    const merged = await api.mergePeople([split], penny.id, 'Penny');
    assert.equal(merged.label, 'Merged 2 people as Penny');
    assert.deepEqual((await facesOfPerson(penny.id)).sort(), [...penny.faceIds].sort());
    assert.equal((await api.person(penny.id)).name, 'Penny');
  });

  it('keeps every decision through a re-index (a photo renamed) and a full re-cluster', async () => {
    const leonard = store.people.findByName('Leonard')!;
    const rejected = (await facesOfPerson(leonard.id))[0]!;
    await api.rejectFaces([rejected], leonard.id);
    assert.ok(!(await facesOfPerson(leonard.id)).includes(rejected));
    const raj = await personOf('faceapi-bbt/raj');
    await api.setHidden(raj.id, true);
    const before = {
      leonard: (await facesOfPerson(leonard.id)).sort(),
      penny: (await facesOfPerson(store.people.findByName('Penny')!.id)).sort(),
    };

    const from = join(library, 'portraits', 'faceapi-bbt', 'penny', 'penny3.png');
    renameSync(from, join(dirname(from), 'penny-renamed.png'));
    await api.startIndex();
    await engine.idle();
    await api.cluster(true);

    const leonardAfter = store.people.findByName('Leonard')!;
    assert.equal(leonardAfter.id, leonard.id);
    assert.deepEqual((await facesOfPerson(leonard.id)).sort(), before.leonard);
    assert.ok(!(await facesOfPerson(leonard.id)).includes(rejected), 'a rejected face never returns');
    assert.deepEqual((await facesOfPerson(store.people.findByName('Penny')!.id)).sort(), before.penny);
    assert.equal(store.people.findByName('Sheldon')?.name, 'Sheldon');
    assert.ok(!(await api.people()).some((p) => p.id === raj.id), 'hidden stays hidden');
    assert.ok((await api.people(true)).some((p) => p.id === raj.id && p.hidden));
  });

  it('undoes the last operations, newest first', async () => {
    const leonard = store.people.findByName('Leonard')!;
    assert.equal((await api.undo())!.label, `Undid: Hid a person`);
    assert.equal((await personOf('faceapi-bbt/raj')).hidden, false);
    const unrejected = await api.undo();
    assert.match(unrejected!.label, /^Undid: Removed 1 face from Leonard/);
    assert.equal((await facesOfPerson(leonard.id)).length, 5);
    const unmerged = await api.undo();
    assert.match(unmerged!.label, /^Undid: Merged 2 people as Penny/);
    const penny = await personOf('faceapi-bbt/penny');
    assert.equal(penny.faceCount, 3, 'the split is back');
    assert.equal(penny.name, null, 'and Penny is unnamed again');
  });

  it('finds the people of a group photo by searching with it', async () => {
    const photo = readFileSync(join(FACES, 'groups', 'faceapi', 'bbt4.jpg')).toString('base64');
    const result = await api.searchByPhoto(photo, 5);
    assert.equal(result.queryFaces, 6);
    const found = new Set(result.people.slice(0, 8).map((p) => p.personId));
    for (const name of ['amy', 'bernadette', 'leonard', 'penny', 'raj', 'sheldon']) {
      const p = await personOf(`faceapi-bbt/${name}`).catch(() => null);
      const id = p?.id ?? store.people.findByName(name)?.id;
      assert.ok(id !== undefined && found.has(id), `${name} is found in bbt4.jpg`);
    }
    const face = await api.searchByFace((await facesOfPerson(store.people.findByName('Sheldon')!.id))[0]!, 4);
    assert.ok(face.hits.every((h) => h.personName === 'Sheldon'), 'a face finds its own person first');
  });

  it('places faces of new photos with the people they show, leaving everyone else as they were', async () => {
    const before = new Map(store.people.assignments().map((a) => [a.faceId, a.personId]));
    const leonard = store.people.findByName('Leonard')!.id;
    const sheldon = store.people.findByName('Sheldon')!.id;
    const counts = { leonard: (await facesOfPerson(leonard)).length, sheldon: (await facesOfPerson(sheldon)).length };
    // bbt5: Raj, Penny, Sheldon, Leonard and Howard, clean-shaven (in bbt1 they are bearded, and
    // Leonard stays unassigned there: his best match is 0.40, below any safe threshold).
    copyFaces(library, ['groups/faceapi/bbt5.jpg']);
    await api.startIndex();
    await engine.idle();
    const after = new Map(store.people.assignments().map((a) => [a.faceId, a.personId]));
    for (const [faceId, personId] of before) assert.equal(after.get(faceId), personId, `face ${faceId} stayed put`);
    const photoId = store.photos.get(join(library, 'groups', 'faceapi', 'bbt5.jpg'))!.id;
    const placed = store.views.photoFaces(photoId);
    assert.equal(placed.length, 5);
    assert.ok(placed.every((f) => f.personId !== null), 'every face joined someone');
    assert.equal(new Set(placed.map((f) => f.personId)).size, 5, 'five different people');
    const ofPerson = (id: number) => placed.filter((f) => f.personId === id).length;
    assert.equal(ofPerson(leonard), 1, 'Leonard is recognised in the group photo');
    assert.equal(ofPerson(sheldon), 1, 'Sheldon is recognised in the group photo');
    assert.equal((await facesOfPerson(leonard)).length, counts.leonard + 1);
    assert.equal((await facesOfPerson(sheldon)).length, counts.sheldon + 1);
  });

  it('refuses bad requests with clear errors', async () => {
    await assert.rejects(engine.call('renamePerson', [1, '   ']), /a name cannot be empty/);
    await assert.rejects(engine.call('person', ['x']), /personId must be a non-negative integer/);
    await assert.rejects(engine.call('moveFaces', [[], 1]), /faceIds must be a non-empty list/);
    await assert.rejects(engine.call('rejectFaces', [[123456], 1]), /no face 123456/);
    await assert.rejects(engine.call('nope' as never, []), /no API method "nope"/);
    assert.equal(store.integrityCheck(), 'ok');
  });

  it('counts a face named twice in one request once', async () => {
    const sheldon = store.people.findByName('Sheldon')!;
    const face = store.people.facesOf(sheldon.id)[0]!.faceId;
    assert.equal((await api.moveFaces([face, face, face], sheldon.id)).label, 'Moved 1 face to Sheldon');
    await api.undo();
  });
});

/**
 * @file The user's people decisions always hold. On a real indexed library (the Big Bang Theory
 * portraits and the face_recognition photos), random sequences of name, merge, move (to a
 * person and to a new person), reject, hide and undo, with re-clusters in between, are
 * followed by `cluster --full` and an incremental re-index (a new group photo); after each,
 * every decision still stands: confirmed faces stay with their person, a rejected face never
 * returns to that person, faces split off never rejoin the faces they left, names and hidden
 * flags are kept. The library is indexed once; each seed works on its own copy of it.
 */
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { KithEngine } from '../native/api/api.ts';
import { Store } from '../native/store/index.ts';
import { copyFaces, facesIn, tempDir } from './helpers.ts';
import { seededRandom } from './seeded-random.ts';

/** What the user has decided so far, kept by the test independently of the store. */
interface Model {
  /** "face:person" → confirm | reject */
  decisions: Map<string, 'confirm' | 'reject'>;
  /** "a:b" with a < b: faces split apart by a move. */
  apart: Set<string>;
  names: Map<number, string>;
  hidden: Set<number>;
}

const key = (f: number, p: number) => `${f}:${p}`;
const pair = (a: number, b: number) => (a < b ? `${a}:${b}` : `${b}:${a}`);
const split = (k: string) => k.split(':').map(Number) as [number, number];
const copy = (m: Model): Model => ({ decisions: new Map(m.decisions), apart: new Set(m.apart), names: new Map(m.names), hidden: new Set(m.hidden) });

function confirm(m: Model, face: number, person: number): void {
  for (const [k, kind] of m.decisions) if (kind === 'confirm' && split(k)[0] === face) m.decisions.delete(k);
  m.decisions.set(key(face, person), 'confirm');
}

function allowTogether(m: Model, xs: readonly number[], ys: readonly number[]): void {
  for (const x of xs) for (const y of ys) m.apart.delete(pair(x, y));
}

/** Every way the store disagrees with the model, in words (empty when all decisions hold). */
function violations(store: Store, m: Model): string[] {
  const out: string[] = [];
  const holder = new Map(store.people.assignments().map((a) => [a.faceId, a.personId]));
  for (const [k, kind] of m.decisions) {
    const [face, person] = split(k);
    if (kind === 'confirm' && holder.get(face) !== person) out.push(`confirmed face ${face} is with ${holder.get(face)}, not ${person}`);
    if (kind === 'reject' && holder.get(face) === person) out.push(`rejected face ${face} is back with ${person}`);
  }
  for (const k of m.apart) {
    const [a, b] = split(k);
    if (holder.has(a) && holder.get(a) === holder.get(b)) out.push(`faces ${a} and ${b} were split apart but share person ${holder.get(a)}`);
  }
  for (const [person, name] of m.names) {
    const row = store.people.get(person);
    if (row?.name !== name || row.mergedInto !== null) out.push(`person ${person} lost the name ${name} (now ${row?.name})`);
  }
  for (const person of m.hidden) if (!store.people.get(person)?.hidden) out.push(`person ${person} is no longer hidden`);
  return out;
}

describe('decisions hold through any sequence of operations and re-clusters', () => {
  let base: string;
  let library: string;

  before(async () => {
    const dir = tempDir();
    library = join(dir, 'Photos');
    copyFaces(library, [...facesIn('portraits/faceapi-bbt'), ...facesIn('portraits/face_recognition')]);
    base = join(dir, 'base.db');
    const store = new Store(base);
    const engine = new KithEngine(store, { device: 'cpu' });
    await engine.client().startIndex(library);
    await engine.idle();
    store.close();
    // Photos that arrive after the user's work: the incremental re-index places their faces.
    copyFaces(library, ['groups/faceapi/bbt5.jpg', 'groups/faceapi/bbt1.jpg']);
  });

  /** A library copy, opened as the app would. */
  function open(name: string) {
    const path = join(tempDir(), `${name}.db`);
    copyFileSync(base, path);
    const store = new Store(path);
    const engine = new KithEngine(store, { device: 'cpu' });
    return { engine, api: engine.client(), store };
  }

  it('a split survives `cluster --full`: the person the faces left keeps its other faces, apart from them', async () => {
    const { api, store } = open('split');
    const people = await api.people(true);
    const p = people.find((x) => x.faceCount >= 4)!;
    const faces = (await api.person(p.id, 0, 100)).faces.map((f) => f.id);
    const moved = faces.slice(0, 2);
    const left = faces.slice(2);
    const q = (await api.moveFaces(moved, null)).personId!;
    await api.cluster(true);
    const holder = new Map(store.people.assignments().map((a) => [a.faceId, a.personId]));
    for (const f of moved) assert.equal(holder.get(f), q, `moved face ${f} stays with the new person`);
    for (const f of left) assert.notEqual(holder.get(f), q, `face ${f} that stayed behind is not pulled into the new person`);
    assert.ok(left.some((f) => holder.get(f) === p.id), `person ${p.id} still holds the faces that stayed`);
    await api.cluster(true);
    const again = new Map(store.people.assignments().map((a) => [a.faceId, a.personId]));
    for (const f of left) assert.notEqual(again.get(f), q, 'and a second re-cluster does not either');
    store.close();
  });

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: 30 random operations, then cluster --full and an incremental re-index`, async () => {
      const rnd = seededRandom(seed);
      const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const { engine, api, store } = open(`seed-${seed}`);
      let model: Model = { decisions: new Map(), apart: new Set(), names: new Map(), hidden: new Set() };
      const history: Model[] = [];
      const log: string[] = [];
      const facesOf = (person: number) => store.people.facesOf(person).map((f) => f.faceId);
      const allFaces = store.faces.idsFor(store.faces.modelCounts()[0]!.modelId);
      const names = ['Ann', 'Bo', 'Cy', 'Di', 'Ed', 'Flo'];

      for (let step = 0; step < 30; step++) {
        const live = (await api.people(true)).map((p) => p.id);
        const next = copy(model);
        const op = pick(['name', 'merge', 'move', 'move-new', 'reject', 'hide', 'undo', 'undo', 'recluster']);
        let done = false;
        try {
          if (op === 'name' && live.length > 0) {
            const p = pick(live);
            const n = pick(names);
            const r = await api.renamePerson(p, n);
            if (r.conflictWith === undefined) {
              const faces = facesOf(p);
              allowTogether(next, faces, faces);
              for (const f of faces) confirm(next, f, p);
              next.names.set(p, n);
              done = true;
            }
            log.push(`name ${p} ${n}${done ? '' : ' (conflict)'}`);
          } else if (op === 'merge' && live.length > 1) {
            const into = pick(live);
            const from = pick(live.filter((x) => x !== into));
            const involvedNames = [into, from].map((x) => store.people.get(x)!.name).filter((x): x is string => x !== null);
            const name = rnd() < 0.5 && involvedNames.length > 0 ? pick(involvedNames) : undefined;
            const faces = [...facesOf(into), ...facesOf(from)];
            log.push(`merge ${from} into ${into} as ${name}`);
            await api.mergePeople([from], into, name);
            allowTogether(next, faces, faces);
            for (const [k, kind] of [...next.decisions]) {
              const [f, p] = split(k);
              if (p !== from) continue;
              next.decisions.delete(k);
              if (kind === 'confirm') next.decisions.set(key(f, into), 'confirm');
              else if (!next.decisions.has(key(f, into))) next.decisions.set(key(f, into), 'reject');
            }
            next.names.delete(from);
            next.hidden.delete(from);
            const finalName = store.people.get(into)!.name;
            if (finalName) {
              next.names.set(into, finalName);
              const all = facesOf(into);
              allowTogether(next, all, all);
              for (const f of all) confirm(next, f, into);
            } else next.names.delete(into);
            done = true;
          } else if ((op === 'move' || op === 'move-new') && live.length > 0) {
            const count = 1 + Math.floor(rnd() * 2);
            const faces = [...new Set(Array.from({ length: count }, () => pick(allFaces)))];
            const target = op === 'move' ? pick(live) : null;
            const before = new Map(faces.map((f) => [f, store.people.assignmentOf(f)?.personId]));
            const leftOf = new Map([...new Set(before.values())].flatMap((p) => (p === undefined ? [] : [[p, facesOf(p)] as const])));
            const targetFaces = target === null ? [] : facesOf(target);
            log.push(`move ${faces.join(',')} to ${target ?? 'new'}`);
            const to = (await api.moveFaces(faces, target)).personId!;
            for (const f of faces) {
              const from = before.get(f);
              if (from === undefined || from === to) continue;
              next.decisions.set(key(f, from), 'reject');
              for (const l of leftOf.get(from)!) if (!faces.includes(l)) next.apart.add(pair(f, l));
            }
            allowTogether(next, faces, targetFaces);
            allowTogether(next, faces, faces);
            for (const f of faces) confirm(next, f, to);
            done = true;
          } else if (op === 'reject' && live.length > 0) {
            const p = pick(live);
            const f = pick(facesOf(p));
            log.push(`reject ${f} from ${p}`);
            await api.rejectFaces([f], p);
            next.decisions.set(key(f, p), 'reject');
            done = true;
          } else if (op === 'hide' && live.length > 0) {
            const p = pick(live);
            const hide = !store.people.get(p)!.hidden;
            log.push(`${hide ? 'hide' : 'show'} ${p}`);
            await api.setHidden(p, hide);
            if (hide) next.hidden.add(p);
            else next.hidden.delete(p);
            done = true;
          } else if (op === 'undo') {
            const r = await api.undo();
            log.push(`undo${r ? '' : ' (nothing)'}`);
            assert.equal(r !== null, history.length > 0, 'undo has something to undo exactly when an operation was made');
            if (r) model = history.pop()!;
            continue;
          } else if (op === 'recluster') {
            const full = rnd() < 0.5;
            log.push(`cluster${full ? ' --full' : ''}`);
            await api.cluster(full);
          }
        } catch (err) {
          // A refused operation (two names and none chosen, a name taken) changes nothing.
          log.push(`  refused: ${(err as Error).message}`);
          done = false;
        }
        if (done) {
          history.push(model);
          model = next;
        }
        assert.deepEqual(violations(store, model), [], `after: ${log.join('; ')}`);
      }

      await api.cluster(true);
      assert.deepEqual(violations(store, model), [], `after cluster --full; ops: ${log.join('; ')}`);
      await api.startIndex();
      await engine.idle();
      assert.ok(store.photos.list().some((p) => p.path.endsWith('bbt5.jpg')), 'the new photo was indexed');
      assert.deepEqual(violations(store, model), [], `after the incremental re-index; ops: ${log.join('; ')}`);
      await api.cluster(true);
      assert.deepEqual(violations(store, model), [], `after a last cluster --full; ops: ${log.join('; ')}`);
      assert.equal(store.integrityCheck(), 'ok');
      store.close();
    });
  }
});

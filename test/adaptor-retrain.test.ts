/**
 * @file The personal metric's background retrain (people/adaptor-trainer.ts) on real portraits
 * (the eight Big Bang Theory characters, indexed): with the adaptor on, a naming change never
 * trains it on the request path; after the debounce one retrain runs on a worker thread,
 * warm-started from the stored W, and stores the next version; an unchanged set of decisions is
 * not trained again; two retrains never run at once; a retrain that crashes or answers nonsense
 * is recorded and leaves the stored version as it was, still used by the namer.
 */
import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KithEngine } from '../native/api/api.ts';
import { trainAdaptorJob, type AdaptorJob, type TrainedAdaptor } from '../native/people/adaptor.ts';
import { runOnWorker, trainingSet, type AdaptorJobRunner } from '../native/people/adaptor-trainer.ts';
import { Naming } from '../native/people/naming.ts';
import { PeopleService } from '../native/people/service.ts';
import { Store } from '../native/store/index.ts';
import { indexedFixtureCopy } from './indexed-fixture.ts';

async function library() {
  const copy = await indexedFixtureCopy('bbt');
  const store = new Store(copy.db);
  const modelId = store.faces.modelCounts()[0]!.modelId;
  const who = (faceId: number) => basename(dirname(store.views.photoOfFace(faceId)!.path));
  /** The person holding only `character`'s faces (clustering found each of the eight). */
  const personOf = (character: string) => {
    const p = store.people.summaries().find((s) => {
      const faces = store.people.facesOf(s.id);
      return faces.length > 0 && faces.every((f) => who(f.faceId) === character);
    });
    if (!p) throw new Error(`no person holds only ${character}`);
    return p.id;
  };
  return { store, modelId, personOf, who, people: new PeopleService(store) };
}

/** A margin wide enough that the portraits' triplets are active. */
const WIDE = { alpha: 1.5 };

/** A runner that counts its jobs and how many ran at once, around `inner`. */
function counted(inner: AdaptorJobRunner) {
  const c = { jobs: [] as AdaptorJob[], active: 0, maxActive: 0 };
  const run: AdaptorJobRunner = async (job) => {
    c.jobs.push(job);
    c.active++;
    c.maxActive = Math.max(c.maxActive, c.active);
    try {
      return await inner(job);
    } finally {
      c.active--;
    }
  };
  return { c, run };
}

describe('the adaptor retrains in the background after naming changes', () => {
  it('through the engine: naming returns before any training, and the new version is stored after the debounce', async () => {
    const { store, modelId, personOf } = await library();
    process.env.KITH_ADAPTOR = '1';
    const engine = new KithEngine(store, { device: 'cpu' });
    try {
      const api = engine.client();
      await api.renamePerson(personOf('sheldon'), 'Sheldon');
      await api.renamePerson(personOf('leonard'), 'Leonard');
      assert.ok((await api.suggestions()) instanceof Array);
      assert.equal(store.adaptors.get(modelId), undefined, 'neither naming nor asking trained the adaptor on the request path');
      const want = trainingSet(store, modelId).fingerprint;
      for (let i = 0; i < 600 && store.adaptors.trainedOn(modelId) !== want; i++) await sleep(100);
      const row = store.adaptors.get(modelId);
      assert.ok(row, 'a retrain stored the adaptor after the debounce');
      assert.equal(row.version, 1, 'one retrain for the two names');
      assert.equal(store.adaptors.trainedOn(modelId), want);
      assert.equal(store.adaptors.lastFailure(modelId), undefined);
      assert.ok((await api.suggestions()) instanceof Array, 'questions are asked in the adapted space');
    } finally {
      delete process.env.KITH_ADAPTOR;
      await engine.close();
      store.close();
    }
  });

  it('warm-starts each retrain from the stored W, trains a burst once, and skips an unchanged set', async () => {
    const { store, modelId, personOf, people } = await library();
    const { c, run } = counted(runOnWorker);
    // A wide margin: at the default α the eight characters are already apart and W would not move.
    const naming = new Naming(store, modelId, { adaptor: true, trainer: { debounceMs: 50, run, settings: WIDE } });
    try {
      people.rename(personOf('sheldon'), 'Sheldon');
      naming.invalidate();
      people.rename(personOf('leonard'), 'Leonard');
      naming.invalidate();
      assert.equal(store.adaptors.get(modelId), undefined, 'nothing trained while the API call ran');
      await naming.adaptorIdle();
      assert.equal(c.jobs.length, 1, 'two quick names, one retrain');
      assert.equal(c.jobs[0]!.start, null, 'the first starts from the PCA of the library');
      const v1 = store.adaptors.get(modelId)!;
      assert.equal(v1.version, 1);

      naming.invalidate(); // e.g. a re-cluster: no decision changed
      await naming.adaptorIdle();
      assert.equal(c.jobs.length, 1, 'the same decisions are not trained again');

      people.rename(personOf('penny'), 'Penny');
      naming.invalidate();
      await naming.adaptorIdle();
      assert.equal(c.jobs.length, 2);
      const v2 = store.adaptors.get(modelId)!;
      assert.equal(v2.version, 2);
      assert.deepEqual(v2.start, v1.start, 'the same start W0, which the training is pulled toward');
      const set = trainingSet(store, modelId);
      assert.notDeepEqual(v1.weights, v1.start, 'version 1 moved away from the start');
      const warm = trainAdaptorJob({ start: { W: v1.weights, W0: v1.start, inDim: v1.inDim, outDim: v1.outDim, version: 1 }, library: [], faces: set.faces, notPerson: set.notPerson, settings: WIDE });
      assert.deepEqual(v2.weights, warm.W, 'W is the warm start from version 1, trained on the three names');
      const cold = trainAdaptorJob({ start: { W: v1.start, W0: v1.start, inDim: v1.inDim, outDim: v1.outDim, version: 0 }, library: [], faces: set.faces, notPerson: set.notPerson, settings: WIDE });
      assert.notDeepEqual(v2.weights, cold.W, 'not a fresh start');
      assert.equal(new Set(set.faces.map((f) => f.personId)).size, 3, 'trained on the confirmed faces of the three');
      assert.ok(naming.suggestions() instanceof Array);
      assert.equal(store.adaptors.get(modelId)!.version, 2, 'asking trains nothing');
    } finally {
      await naming.close();
      store.close();
    }
  });

  it('never runs two retrains at once: a change during a retrain is trained after it', async () => {
    const { store, modelId, personOf, people } = await library();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const started = new Promise<void>((r) => (entered = r));
    const { c, run } = counted(async (job) => {
      if (c.jobs.length === 1) {
        entered();
        await held;
      }
      return runOnWorker(job);
    });
    const naming = new Naming(store, modelId, { adaptor: true, trainer: { debounceMs: 10, run } });
    try {
      people.rename(personOf('sheldon'), 'Sheldon');
      people.rename(personOf('leonard'), 'Leonard');
      naming.invalidate();
      const settled = naming.adaptorIdle(); // keeps the (unref'd) debounce timer alive while the test waits
      await started;
      people.rename(personOf('howard'), 'Howard');
      naming.invalidate();
      await sleep(200); // the second change's debounce ends while the first retrain is held
      release();
      await settled;
      await naming.adaptorIdle();
      assert.equal(c.maxActive, 1, 'one at a time');
      assert.equal(c.jobs.length, 2, 'the change made during the first retrain is trained after it');
      assert.equal(c.jobs[1]!.start?.version, 1, 'from the version the first one stored');
      assert.equal(store.adaptors.get(modelId)!.version, 2);
      assert.equal(store.adaptors.trainedOn(modelId), trainingSet(store, modelId).fingerprint);
    } finally {
      await naming.close();
      store.close();
    }
  });

  it('a crash in training, or a map that does not add up, is recorded and leaves the stored version in use', async () => {
    const { store, modelId, personOf, people, who } = await library();
    let mode: 'ok' | 'crash' | 'nan' = 'ok';
    const failures: string[] = [];
    const naming = new Naming(store, modelId, {
      adaptor: true,
      trainer: {
        debounceMs: 10,
        failed: (m) => failures.push(m),
        run: async (job): Promise<TrainedAdaptor> => {
          // A real worker whose training throws: its job's sizes do not add up.
          if (mode === 'crash') return runOnWorker({ ...job, start: { ...job.start!, inDim: 3 } });
          if (mode === 'nan') {
            const t = await runOnWorker(job);
            t.W[7] = Number.NaN;
            return t;
          }
          return runOnWorker(job);
        },
      },
    });
    try {
      people.rename(personOf('sheldon'), 'Sheldon');
      people.rename(personOf('leonard'), 'Leonard');
      naming.invalidate();
      await naming.adaptorIdle();
      const v1 = store.adaptors.get(modelId)!;
      assert.equal(v1.version, 1);

      mode = 'crash';
      const raj = personOf('raj');
      people.rename(raj, 'Raj');
      naming.invalidate();
      await naming.adaptorIdle();
      assert.equal(failures.length, 1);
      assert.match(failures[0]!, /not 128 × 3/);
      const kept = store.adaptors.get(modelId)!;
      assert.equal(kept.version, 1, 'the previous version stays');
      assert.deepEqual(kept.weights, v1.weights, 'bit for bit');
      const failure = store.adaptors.lastFailure(modelId)!;
      assert.equal(failure.keptVersion, 1);
      assert.match(failure.message, /not 128 × 3/);
      const after = naming.suggestions();
      assert.ok(after instanceof Array && after.every((s) => s.suggestedName !== undefined), 'questions still come, in version 1');

      mode = 'nan';
      const face = store.people.facesOf(raj)[0]!.faceId;
      assert.equal(who(face), 'raj');
      people.decline([face], personOf('sheldon'));
      naming.invalidate();
      await naming.adaptorIdle();
      assert.equal(failures.length, 2);
      assert.match(failures[1]!, /non-finite/);
      assert.deepEqual(store.adaptors.get(modelId)!.weights, v1.weights, 'a NaN never replaces the stored map');

      mode = 'ok';
      naming.invalidate();
      await naming.adaptorIdle();
      assert.equal(store.adaptors.get(modelId)!.version, 2, 'the next good retrain stores version 2, from version 1');
      assert.equal(store.adaptors.lastFailure(modelId), undefined, 'and clears the failure');
    } finally {
      await naming.close();
      store.close();
    }
  });
});

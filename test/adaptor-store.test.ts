/**
 * @file The stored personal metric (native/store/adaptors.ts) in a real SQLite file: a trained
 * adaptor comes back bit for bit after the library is closed and opened again, a newer
 * version replaces the older one, each embedding model has its own, and removing it leaves
 * nothing behind (the faces' raw vectors are untouched either way).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Adaptor } from '../native/people/adaptor.ts';
import { seededRandom } from './seeded-random.ts';
import { Store } from '../native/store/index.ts';
import { tempDir } from './helpers.ts';

function library(seed: number): Array<{ vector: Float32Array; personId: number }> {
  const rand = seededRandom(seed);
  const out: Array<{ vector: Float32Array; personId: number }> = [];
  for (let p = 1; p <= 6; p++) {
    const c = Array.from({ length: 16 }, () => rand() - 0.5);
    for (let i = 0; i < 5; i++) {
      const v = Float32Array.from(c, (x) => x + 0.2 * (rand() - 0.5));
      const n = Math.hypot(...v);
      out.push({ vector: v.map((x) => x / n), personId: p });
    }
  }
  return out;
}

describe('adaptor store', () => {
  it('keeps W, W0 and the version across a reopen, per model', () => {
    {
      const path = join(tempDir(), 'library.db');
      const faces = library(1);
      const trained = Adaptor.start(faces.map((f) => f.vector), 8).train(faces, [], { steps: 10 });
      let store = new Store(path);
      assert.equal(store.adaptors.get('m1'), undefined);
      store.adaptors.put({ modelId: 'm1', version: trained.version, inDim: 16, outDim: 8, weights: trained.W, start: trained.W0 });
      store.close();
      store = new Store(path);
      const row = store.adaptors.get('m1')!;
      assert.equal(row.version, 1);
      assert.deepEqual(row.weights, trained.W);
      assert.deepEqual(row.start, trained.W0);
      const back = new Adaptor(row.weights, row.start, row.inDim, row.outDim, row.version, trained.stats);
      assert.deepEqual(back.apply(faces[0]!.vector), trained.apply(faces[0]!.vector));
      assert.equal(store.adaptors.get('m2'), undefined, 'another model has none');

      const next = back.train(faces, [], { steps: 5 });
      store.adaptors.put({ modelId: 'm1', version: next.version, inDim: 16, outDim: 8, weights: next.W, start: next.W0 });
      assert.equal(store.adaptors.get('m1')!.version, 2);
      assert.deepEqual(store.adaptors.get('m1')!.weights, next.W);
      assert.throws(() => store.adaptors.put({ modelId: 'm1', version: 3, inDim: 16, outDim: 8, weights: new Float32Array(3), start: next.W0 }), /not 8 × 16/);
      store.adaptors.remove('m1');
      assert.equal(store.adaptors.get('m1'), undefined);
      store.close();
    }
  });
});

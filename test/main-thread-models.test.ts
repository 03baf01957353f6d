/**
 * A run the worker pool analyses loads no recogniser in the main thread: the workers hold their
 * own sessions, and a second set beside them would only cost memory. Only the detector that tells
 * which execution provider to use is loaded here.
 * Real portraits, real pool, real SQLite.
 */
import assert from 'node:assert/strict';
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { indexFolder } from '../native/indexing/indexer.ts';
import { sessionsLoaded } from '../native/pipeline/runtime.ts';
import { Store } from '../native/store/index.ts';
import { BBT, tempDir } from './helpers.ts';

describe('models in the main thread while the pool indexes', () => {
  it('are not loaded on the CPU: neither for a pool run nor for a run with no photo to read', async () => {
    const dir = tempDir('kith-main-models-');
    const photos = join(dir, 'photos');
    for (const who of readdirSync(BBT).slice(0, 4)) for (const n of [1, 2]) cpSync(join(BBT, who, `${who}${n}.png`), join(photos, `${who}${n}.png`));
    const store = new Store(join(dir, 'library.db'));
    try {
      const first = await indexFolder(store, photos, { device: 'cpu', layout: { workers: 2, threads: 1 } });
      assert.equal(first.indexed, 8);
      assert.ok(first.faces >= 8, `${first.faces} faces`);
      assert.equal(first.provider, 'cpu', 'the run records the pool’s execution provider');
      // On the CPU nothing needs probing: no session in the main thread (before: all three, then the detector).
      assert.equal(sessionsLoaded(), 0, 'no model in the main thread');

      const again = await indexFolder(store, photos, { device: 'cpu', layout: { workers: 2, threads: 1 } });
      assert.equal(again.indexed, 0);
      assert.equal(again.provider, 'cpu');
      assert.equal(sessionsLoaded(), 0, 'a run with nothing to read loads no model either: the provider and the vector length are known without one');
    } finally {
      store.close();
    }
  });
});

/**
 * Two processes write the same library at once, as when `kith name` runs while `kith index`
 * works: one renames, hides and undoes people in a loop, the other runs indexer-style
 * transactions that read before they write. Neither may ever fail with "database is locked".
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Store } from '../native/store/index.ts';
import { REPO } from './helpers.ts';
import { indexedFixtureCopy } from './indexed-fixture.ts';

interface WriterReport {
  mode: string;
  done: number;
  busy: number;
  errors: string[];
}

function writer(dbPath: string, mode: 'people' | 'indexer', iterations: number): Promise<WriterReport> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test', 'two-writers-worker.ts'), dbPath, mode, String(iterations)], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((done, fail) =>
    child.on('close', (code) => (code === 0 ? done(JSON.parse(out.trim().split('\n').pop()!) as WriterReport) : fail(new Error(`${mode} writer exited ${code}`)))),
  );
}

describe('two processes writing one library', () => {
  let dbPath: string;

  before(async () => {
    dbPath = (await indexedFixtureCopy('bbt-sirius')).db;
  });

  it('people operations and indexer transactions at the same time never hit SQLITE_BUSY', async () => {
    const [people, indexer] = await Promise.all([writer(dbPath, 'people', 400), writer(dbPath, 'indexer', 1200)]);
    assert.deepEqual(people.errors, []);
    assert.deepEqual(indexer.errors, []);
    assert.equal(people.busy, 0, `people writer: ${people.busy} SQLITE_BUSY of ${people.done + people.busy}`);
    assert.equal(indexer.busy, 0, `indexer writer: ${indexer.busy} SQLITE_BUSY of ${indexer.done + indexer.busy}`);
    assert.equal(people.done, 1200);
    assert.equal(indexer.done, 1200);
    const store = new Store(dbPath);
    try {
      assert.equal(store.integrityCheck(), 'ok');
      assert.equal(store.faces.total(), 40);
    } finally {
      store.close();
    }
  });

  it('a transaction inside a transaction is still a savepoint: its failure undoes only its own writes', () => {
    const store = new Store(dbPath);
    try {
      store.transaction(() => {
        store.setMeta('outer', 'kept');
        assert.throws(
          () =>
            store.transaction(() => {
              store.setMeta('inner', 'undone');
              throw new Error('inner step fails');
            }),
          /inner step fails/,
        );
        assert.equal(store.db.inTransaction, true);
      });
      assert.equal(store.meta('outer'), 'kept');
      assert.equal(store.meta('inner'), undefined);
    } finally {
      store.close();
    }
  });
});

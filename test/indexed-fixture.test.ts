/**
 * @file The shared indexed fixture libraries (indexed-fixture.ts): a copy is a real library of
 * its own (a re-index finds nothing to do, its thumbnails are there, a change to it stays in it),
 * and processes that ask at the same time index the library once, even past a lock that a
 * killed builder left behind; entries of older engines go once unused for a while.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDb } from '../native/store/db.ts';
import { faceThumbPath } from '../native/pipeline/thumbs.ts';
import { REPO, runCli, tempDir } from './helpers.ts';
import { fixtureCacheEntry, indexedFixtureCopy } from './indexed-fixture.ts';

function rows<T>(db: string, sql: string): T[] {
  const d = openDb(db, { readonly: true });
  try {
    return d.prepare(sql).all() as T[];
  } finally {
    d.close();
  }
}

describe('an indexed fixture library, shared between test files', () => {
  it('is a real library of its own: its photos are where its database says, unchanged, with thumbnails', async () => {
    const copy = await indexedFixtureCopy('bbt');
    const photos = rows<{ path: string }>(copy.db, 'SELECT path FROM photos');
    assert.equal(photos.length, 40);
    assert.ok(photos.every((p) => p.path.startsWith(`${copy.library}/`) && existsSync(p.path)), 'every photo path is in the copy');
    const faces = rows<{ id: number }>(copy.db, 'SELECT id FROM faces');
    assert.equal(faces.length, 40);
    assert.ok(faces.every((f) => existsSync(faceThumbPath(copy.db, f.id))), 'every face has its thumbnail');
    assert.equal(rows<{ n: number }>(copy.db, 'SELECT count(DISTINCT person_id) AS n FROM assignments')[0]!.n, 8, 'clustered into the eight characters');
    const again = await runCli(['index', copy.library, '--db', copy.db, '--device', 'cpu']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /40 photos found: 0 indexed, 40 unchanged, 0 moved, 0 removed/);
  });

  it('gives each caller a copy that no other one sees changed', async () => {
    const [a, b] = [await indexedFixtureCopy('bbt'), await indexedFixtureCopy('bbt')];
    assert.notEqual(a.dir, b.dir);
    const d = openDb(a.db);
    d.prepare(`UPDATE people SET name = 'Changed in a' WHERE id = (SELECT min(person_id) FROM assignments)`).run();
    d.close();
    const gone = rows<{ path: string }>(a.db, 'SELECT path FROM photos ORDER BY path LIMIT 1')[0]!.path;
    rmSync(gone);
    assert.deepEqual(rows(b.db, `SELECT id FROM people WHERE name IS NOT NULL`), []);
    assert.ok(existsSync(gone.replace(a.library, b.library)), "b's photo is still there");
  });

  it('is indexed once when several processes ask at the same time, past a lock left by a killed builder', async () => {
    const cache = tempDir('kith-fixture-cache-');
    const entry = fixtureCacheEntry('bbt', cache);
    mkdirSync(cache, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(`${entry}.lock`, String(dead));
    // Left from earlier engines: one unused for an hour, one used just now, and a dead builder's folder.
    const [stale, recent, orphan] = ['bbt-00000000000000aa', 'bbt-00000000000000bb', `bbt-00000000000000cc.build-${dead}`];
    for (const name of [stale, recent, orphan]) mkdirSync(join(cache, name));
    const anHourAgo = new Date(Date.now() - 3600_000);
    utimesSync(join(cache, stale), anHourAgo, anHourAgo);
    const ask = () =>
      new Promise<{ code: number | null; copy: { db: string; photos: number }; stderr: string }>((done) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test', 'indexed-fixture-child.ts'), 'bbt'], {
          cwd: REPO,
          env: { ...process.env, KITH_TEST_CACHE: cache },
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.on('close', (code) => done({ code, copy: out ? (JSON.parse(out) as { db: string; photos: number }) : { db: '', photos: 0 }, stderr: err }));
      });
    const answers = await Promise.all([ask(), ask(), ask()]);
    for (const r of answers) assert.equal(r.code, 0, r.stderr);
    const builds = answers.flatMap((r) => r.stderr.split('\n').filter((l) => l.startsWith('indexing the fixture library')));
    assert.equal(builds.length, 1, builds.join('\n'));
    assert.equal(new Set(answers.map((r) => r.copy.db)).size, 3, 'three copies');
    assert.deepEqual(answers.map((r) => r.copy.photos), [40, 40, 40]);
    assert.deepEqual(readdirSync(cache).sort(), [recent, entry.slice(cache.length + 1)].sort(), 'no lock, half-built or long unused folder is left');
  });
});

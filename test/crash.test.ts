/**
 * Kill -9 at any moment loses nothing: a real `kith index` child process is killed while
 * it writes, run again, and the library ends up exactly as an uninterrupted run leaves it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDb } from '../native/store/db.ts';
import { copyFaces, facesIn, runCli, startCli, tempDir, waitFor } from './helpers.ts';

interface Snapshot {
  photos: number;
  faces: number;
  facesPerPhoto: Array<{ path: string; n: number; boxes: string }>;
  duplicates: number;
}

function snapshot(dbPath: string, root: string): Snapshot {
  const db = openDb(dbPath, { readonly: true });
  try {
    const facesPerPhoto = db
      .prepare<[], { path: string; n: number; boxes: string }>(
        `SELECT p.path, count(f.id) AS n, coalesce(group_concat(round(f.x1) || ',' || round(f.y1), ';'), '') AS boxes
         FROM photos p LEFT JOIN faces f ON f.photo_id = p.id GROUP BY p.id ORDER BY p.path`,
      )
      .all()
      .map((r) => ({ ...r, path: r.path.slice(root.length) }));
    const duplicates = db
      .prepare<[], { n: number }>(
        `SELECT count(*) AS n FROM (SELECT photo_id, x1, y1 FROM faces GROUP BY photo_id, x1, y1 HAVING count(*) > 1)`,
      )
      .get()!.n;
    return {
      photos: facesPerPhoto.length,
      faces: facesPerPhoto.reduce((s, r) => s + r.n, 0),
      facesPerPhoto,
      duplicates,
    };
  } finally {
    db.close();
  }
}

function photosDone(dbPath: string): number {
  try {
    const db = openDb(dbPath, { readonly: true });
    try {
      return db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM photos WHERE status = 'done'`).get()!.n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // not created yet
  }
}

describe('kill -9 mid-run', () => {
  it('resumes to the same library an uninterrupted run makes, with no face duplicated or lost', async () => {
    const dir = tempDir();
    const photos = facesIn('portraits', (p) => !p.includes('/deepface/'));
    const killedLib = join(dir, 'a', 'Photos');
    const cleanLib = join(dir, 'b', 'Photos');
    copyFaces(killedLib, photos);
    copyFaces(cleanLib, photos);
    const args = ['--device', 'cpu', '--embedder', 'fr-feature'];

    const killedDb = join(dir, 'killed.db');
    let kills = 0;
    // Kill it twice at different points: once early, once well into the run.
    for (const target of [8, 30]) {
      const child = startCli(['index', killedLib, '--db', killedDb, ...args]);
      child.stderr!.resume();
      child.stdout!.resume();
      const exited = new Promise((done) => child.on('close', done));
      await waitFor(`${target} photos saved`, () => photosDone(killedDb) >= target || child.exitCode !== null, { timeout: 300_000, every: 20 });
      assert.equal(child.exitCode, null, 'the run was still going when killed');
      child.kill('SIGKILL');
      await exited;
      kills++;
    }
    assert.equal(kills, 2);
    const partial = photosDone(killedDb);
    assert.ok(partial >= 30 && partial < photos.length, `killed with ${partial}/${photos.length} done`);

    const resumed = await runCli(['index', killedLib, '--db', killedDb, ...args]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`${photos.length} photos found: \\d+ indexed, (\\d+) unchanged`));

    const clean = await runCli(['index', cleanLib, '--db', join(dir, 'clean.db'), ...args]);
    assert.equal(clean.code, 0, clean.stderr);

    const db = openDb(killedDb, { readonly: true });
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();
    const got = snapshot(killedDb, killedLib);
    const want = snapshot(join(dir, 'clean.db'), cleanLib);
    assert.equal(got.duplicates, 0);
    assert.equal(got.photos, photos.length);
    assert.deepEqual(got, want);
    const stats = await runCli(['stats', '--db', killedDb, '--json']);
    const runs = JSON.parse(stats.stdout) as { lastRun: { status: string }; faces: number };
    assert.equal(runs.lastRun.status, 'done');
    assert.equal(runs.faces, want.faces);
  });
});

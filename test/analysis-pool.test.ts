/**
 * The indexing pool on real photos: worker threads give the same faces, boxes and vectors as the
 * same analysis in-process, bad files come back as errors (not crashes), and the thread layout
 * follows the machine unless KITH_WORKERS / KITH_THREADS say otherwise.
 */
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { filesInHand, startAnalyser, threadLayout, type PhotoAnalyser } from '../native/pipeline/analysis-pool.ts';
import { libuvThreadsFor, withLibuvThreads } from '../native/common/libuv-threads.ts';
import { takeRun } from '../native/pipeline/embed-worker.ts';
import { cosine } from '../native/pipeline/embed.ts';
import { MODELS_DIR } from '../native/pipeline/runtime.ts';
import { FACES, tempDir } from './helpers.ts';

const PHOTOS = ['groups/faceapi/bbt1.jpg', 'groups/faceapi/bbt4.jpg', 'portraits/faceapi-bbt/leonard/leonard1.png', 'portraits/faceapi-bbt/penny/penny2.png'].map((p) => join(FACES, p));

describe('the indexing pool', () => {
  let pool: PhotoAnalyser;
  let inProcess: PhotoAnalyser;
  const dir = tempDir('kith-pool-');
  const corrupt = join(dir, 'corrupt.jpg');
  const missing = join(dir, 'gone.jpg');

  before(async () => {
    copyFileSync(PHOTOS[0]!, join(dir, 'whole.jpg'));
    writeFileSync(corrupt, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 1, 2, 3]));
    const opts = { device: 'cpu' as const, embedder: 'ensemble', modelsDir: MODELS_DIR };
    [pool, inProcess] = await Promise.all([startAnalyser({ ...opts, layout: { workers: 2, threads: 1 } }), startAnalyser({ ...opts, layout: { workers: 0, threads: 1 } })]);
  });

  after(async () => {
    await pool?.close();
    await inProcess?.close();
  });

  it('runs two workers on the CPU', () => {
    assert.deepEqual(pool.layout, { workers: 2, threads: 1 });
    assert.equal(pool.provider, 'cpu');
    assert.equal(pool.capacity, 8, 'four files in hand per worker');
    assert.equal(pool.modelId, inProcess.modelId);
  });

  it('finds the same faces with the same vectors as in-process, for files analysed at once', async () => {
    const [fromPool, here] = await Promise.all([Promise.all(PHOTOS.map((p) => pool.analyse(p))), Promise.all(PHOTOS.map((p) => inProcess.analyse(p)))]);
    for (const [i, a] of fromPool.entries()) {
      const b = here[i]!;
      assert.equal(a.error, null, a.path);
      assert.equal(a.hash, b.hash);
      assert.deepEqual(a.photo, b.photo);
      assert.ok(a.faces.length > 0, `${a.path}: faces found`);
      assert.equal(a.faces.length, b.faces.length, a.path);
      assert.equal(a.vectors.length, a.faces.length);
      assert.equal(a.thumbs.length, a.faces.length);
      for (const [j, f] of a.faces.entries()) {
        assert.ok(Math.abs(f.box.x1 - b.faces[j]!.box.x1) < 0.01 && Math.abs(f.box.y2 - b.faces[j]!.box.y2) < 0.01, `${a.path} face ${j} box`);
        assert.ok(cosine(a.vectors[j]!, b.vectors[j]!) > 0.9999, `${a.path} face ${j} vector`);
      }
    }
    assert.equal(fromPool[0]!.faces.length, 4, 'bbt1.jpg holds four faces');
  });

  it('reports a corrupt file and a vanished one as errors, and goes on', async () => {
    const [bad, gone, good] = await Promise.all([pool.analyse(corrupt), pool.analyse(missing), pool.analyse(join(dir, 'whole.jpg'))]);
    assert.equal(bad.photo, null);
    assert.match(bad.error ?? '', /./);
    assert.equal(bad.size, 13);
    assert.equal(gone.error, 'file vanished before it could be read');
    assert.equal(good.error, null);
    assert.equal(good.faces.length, 4);
  });

  it('is refused once closed', async () => {
    const spare = await startAnalyser({ device: 'cpu', embedder: 'sirius', modelsDir: MODELS_DIR, layout: { workers: 1, threads: 1 } });
    await spare.close();
    await assert.rejects(spare.analyse(PHOTOS[0]!), /closed/);
  });

  it('gives each worker more files in hand on many cores, where decoding waits longer', () => {
    assert.deepEqual([1, 2, 4, 8, 16].map((w) => filesInHand(w, false)), [4, 4, 4, 8, 8]);
    assert.equal(filesInHand(16, true), 4, 'a worker feeding the embedding stage');
  });

  it('lays threads out by the machine: a worker per core, GPU or not, and as told', () => {
    assert.deepEqual(threadLayout({}, 16), { workers: 16, threads: 1 });
    assert.deepEqual(threadLayout({ KITH_WORKERS: '4' }, 16), { workers: 4, threads: 4 });
    assert.deepEqual(threadLayout({ KITH_WORKERS: '0' }, 2), { workers: 0, threads: 2 });
    assert.deepEqual(threadLayout({ KITH_WORKERS: '1', KITH_THREADS: '2' }, 2), { workers: 1, threads: 2 });
    assert.deepEqual(threadLayout({ KITH_WORKERS: 'lots' }, 2), { workers: 2, threads: 1 });
  });

  it("sizes libuv's pool, which decodes for every worker, to the cores, unless the user did", () => {
    assert.deepEqual([1, 2, 16].map(libuvThreadsFor), [4, 4, 18]);
    assert.equal(withLibuvThreads({}, 16).UV_THREADPOOL_SIZE, '18');
    assert.equal(withLibuvThreads({ UV_THREADPOOL_SIZE: '6' }, 16).UV_THREADPOOL_SIZE, '6');
  });
});

describe('the embedding stage (how a GPU run embeds, here on the CPU)', () => {
  let staged: PhotoAnalyser;
  let inProcess: PhotoAnalyser;

  before(async () => {
    const opts = { device: 'cpu' as const, embedder: 'ensemble', modelsDir: MODELS_DIR };
    [staged, inProcess] = await Promise.all([startAnalyser({ ...opts, embedding: 'stage', layout: { workers: 2, threads: 1 } }), startAnalyser({ ...opts, layout: { workers: 0, threads: 1 } })]);
  });

  after(async () => {
    await staged?.close();
    await inProcess?.close();
  });

  it('embeds the faces of photos from both workers together, with the vectors of the in-process analysis', async () => {
    assert.ok(staged.stage, 'the pool has a stage');
    assert.equal(staged.capacity, 8, 'four files in hand per worker');
    const twice = [...PHOTOS, ...PHOTOS];
    const [fromStage, here] = await Promise.all([Promise.all(twice.map((p) => staged.analyse(p))), Promise.all(PHOTOS.map((p) => inProcess.analyse(p)))]);
    let faces = 0;
    for (const [i, a] of fromStage.entries()) {
      const b = here[i % PHOTOS.length]!;
      assert.equal(a.error, null, a.path);
      assert.equal(a.faces.length, b.faces.length, a.path);
      assert.equal(a.vectors.length, a.faces.length);
      for (const [j, v] of a.vectors.entries()) assert.ok(cosine(v, b.vectors[j]!) > 0.99999, `${a.path} face ${j}`);
      faces += a.faces.length;
    }
    const stats = await staged.stage!.stats();
    console.log(`  stage: ${stats.runs} runs, ${stats.faces} faces from ${stats.requests} photos, largest run ${stats.largestRun}`);
    assert.equal(stats.requests, fromStage.length, 'one request per photo with faces');
    assert.equal(stats.faces, faces);
    assert.ok(stats.runs < stats.requests, `${stats.runs} runs for ${stats.requests} photos: runs span photos`);
  });

  it('fails the photos waiting on a stage that stopped, and says so', async () => {
    const spare = await startAnalyser({ device: 'cpu', embedder: 'sirius', modelsDir: MODELS_DIR, embedding: 'stage', layout: { workers: 1, threads: 1 } });
    try {
      await spare.stage!.close();
      await assert.rejects(spare.analyse(PHOTOS[0]!), /the embedding stage stopped/);
    } finally {
      await spare.close();
    }
  });

  it('takes whole photos into a run, in order, up to its size', () => {
    const queue = [3, 2, 4, 1, 70, 5].map((count, id) => ({ id, count }));
    assert.deepEqual(takeRun(queue, 8).map((r) => r.id), [0, 1]);
    assert.deepEqual(takeRun(queue, 8).map((r) => r.id), [2, 3]);
    assert.deepEqual(takeRun(queue, 8).map((r) => r.id), [4], 'a photo larger than a run goes alone');
    assert.deepEqual(takeRun(queue, 8).map((r) => r.id), [5]);
    assert.deepEqual(takeRun(queue, 8), []);
  });
});

/**
 * The HNSW file is derived data, and a damaged one must never take Kith down: bytes flipped
 * anywhere or where hnswlib keeps its structure, a file cut or grown with the size in its
 * sidecar made to match, a lying sidecar, even damage with a sidecar rewritten to agree. Each
 * time `FaceIndex.open` + search (run in a child process, so a segfault fails the test rather
 * than the runner) and `kith search` must answer as a freshly built index does. Real photos,
 * a real SQLite library, a real HNSW file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { FaceIndex, indexPathFor } from '../native/search/ann.ts';
import { Store } from '../native/store/index.ts';
import { SEARCH_K, damage, type DamageMode } from './ann-damage.ts';
import { REPO, runCli, type CliResult } from './helpers.ts';
import { indexedFixtureCopy } from './indexed-fixture.ts';
import { seededRandom } from './seeded-random.ts';

type Hits = Array<[number, number]>;
interface Trial {
  trial: number;
  size: number;
  results: Hits[];
}

/** Run `trials` damage trials of `mode` in a child process; its exit and every finished trial. */
function runTrials(dbPath: string, modelId: string, dim: number, mode: DamageMode, seed: number, trials: number) {
  const script = join(REPO, 'test', 'ann-integrity-trial.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, dbPath, modelId, String(dim), mode, String(seed), String(trials)], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; trials: Trial[] }>((done) =>
    child.on('close', (code, signal) =>
      done({ code, signal, stderr: err, trials: out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Trial) }),
    ),
  );
}

describe('a damaged HNSW file never takes Kith down', () => {
  let dbPath: string;
  let hnswPath: string;
  let modelId: string;
  let dim: number;
  let faceIds: Set<number>;
  /** What a freshly built index answers for every face, k = SEARCH_K. */
  let fresh: Hits[];
  const searchArgs = () => ['search', '7', '--db', dbPath, '--embedder', 'sirius', '--device', 'cpu'];
  let freshCli: CliResult;

  before(async () => {
    dbPath = (await indexedFixtureCopy('bbt-sirius')).db;
    hnswPath = indexPathFor(dbPath);
    const store = new Store(dbPath);
    try {
      modelId = store.faces.modelCounts()[0]!.modelId;
      const ids = store.faces.idsFor(modelId);
      faceIds = new Set(ids);
      dim = store.faces.get(ids[0]!)!.embedding.length;
      rmSync(hnswPath);
      rmSync(`${hnswPath}.json`);
      const index = FaceIndex.open(store, modelId, dim);
      fresh = ids.map((id) => index.search(store.faces.get(id)!.embedding, SEARCH_K).map((h): [number, number] => [h.faceId, h.similarity]));
    } finally {
      store.close();
    }
    copyFileSync(hnswPath, `${hnswPath}.good`);
    copyFileSync(`${hnswPath}.json`, `${hnswPath}.json.good`);
    freshCli = await runCli(searchArgs());
    assert.equal(freshCli.code, 0, freshCli.stderr);
    assert.match(freshCli.stdout, /Most similar faces/);
  });

  const cases: Array<[DamageMode, number, string]> = [
    ['flip', 40, 'random bits flipped anywhere, sidecar untouched (its size still matches)'],
    ['flip-structure', 40, 'random bits flipped in the header, links and labels, sidecar untouched'],
    ['bad-links', 10, "one element's neighbours pointed outside the index, sidecar untouched"],
    ['resize', 12, 'the file cut short or grown, with the size in the sidecar made to match'],
    ['sidecar', 9, 'an intact file with a sidecar that lies (bad JSON, unknown or false tombstones, counts, checksum, dimension)'],
    ['huge-vector', 8, 'a vector scaled off the unit sphere with a sidecar rewritten to agree (searches to garbage)'],
  ];
  for (const [mode, trials, what] of cases) {
    it(`${what}: opens, searches and answers as a fresh index, ${trials} trials`, async () => {
      const run = await runTrials(dbPath, modelId, dim, mode, 1234, trials);
      assert.equal(run.signal, null, `crashed (${run.signal}) in trial ${run.trials.length}: ${run.stderr.slice(-500)}`);
      assert.equal(run.code, 0, run.stderr.slice(-1000));
      assert.equal(run.trials.length, trials);
      for (const t of run.trials) {
        assert.equal(t.size, faceIds.size, `trial ${t.trial}: index size`);
        assert.deepEqual(t.results, fresh, `trial ${t.trial}: results differ from a fresh index`);
      }
    });
  }

  it('damage with a sidecar rewritten to agree (size and sha256) never crashes, and every result is sound', async () => {
    const run = await runTrials(dbPath, modelId, dim, 'agreeing', 99, 40);
    assert.equal(run.signal, null, `crashed (${run.signal}) in trial ${run.trials.length}: ${run.stderr.slice(-500)}`);
    assert.equal(run.code, 0, run.stderr.slice(-1000));
    assert.equal(run.trials.length, 40);
    for (const t of run.trials) {
      for (const hits of t.results) {
        assert.equal(hits.length, SEARCH_K);
        for (const [faceId, similarity] of hits) {
          assert.ok(faceIds.has(faceId), `trial ${t.trial}: face ${faceId} is not in the library`);
          assert.ok(Number.isFinite(similarity) && similarity >= -1 && similarity <= 1, `trial ${t.trial}: similarity ${similarity}`);
        }
      }
    }
  });

  it('`kith search` on a damaged file prints what it prints with a fresh index', async () => {
    const good = readFileSync(`${hnswPath}.good`);
    const goodSidecar = readFileSync(`${hnswPath}.json.good`, 'utf8');
    const random = seededRandom(77);
    const modes: DamageMode[] = ['bad-links', 'flip-structure', 'flip-structure', 'flip', 'resize', 'sidecar', 'huge-vector'];
    for (const [trial, mode] of modes.entries()) {
      const { hnsw, sidecar } = damage(mode, good, goodSidecar, dim, random, trial);
      writeFileSync(hnswPath, hnsw);
      writeFileSync(`${hnswPath}.json`, sidecar);
      const r = await runCli(searchArgs());
      assert.equal(r.signal, null, `kith search crashed (${r.signal}) on ${mode} trial ${trial}`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, freshCli.stdout, `${mode} trial ${trial}`);
    }
  });
});

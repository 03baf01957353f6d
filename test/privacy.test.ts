/**
 * Nothing about the user's machine leaves it, and nothing is left behind: a real `kith index`
 * run with an empty home folder must not create ONNX Runtime's telemetry store
 * (~/.cache/Microsoft/DeveloperTools/.onnxruntime: a device id and an upload queue), nor its
 * `mat-debug-<pid>.log` / `.ses` files in the temp folder. onnxruntime-node 1.29+ on Linux and
 * macOS does both unless ORT_DISABLE_TELEMETRY=1 is set before it starts.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { copyFaces, facesIn, listFiles, runCli, tempDir } from './helpers.ts';

/** The test runner's environment without anything that would hide the problem or move the cache. */
function cleanEnv(home: string, tmp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: tmp, KITH_DB: join(home, 'library.db') };
  delete env.ORT_DISABLE_TELEMETRY;
  delete env.XDG_CACHE_HOME;
  return env;
}

describe('privacy: ONNX Runtime telemetry', () => {
  it('indexing real portraits writes no Microsoft telemetry folder, device id or debug log', async () => {
    const root = tempDir('kith-privacy-');
    const home = join(root, 'home');
    const tmp = join(root, 'tmp');
    const photos = join(root, 'photos');
    mkdirSync(home);
    mkdirSync(tmp);
    copyFaces(photos, facesIn('portraits/faceapi-bbt').slice(0, 4));

    const r = await runCli(['index', photos, '--device', 'cpu', '--embedder', 'sirius'], { env: cleanEnv(home, tmp) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /4 indexed/);

    const leaked = [...listFiles(home), ...listFiles(tmp)].filter((f) => /Microsoft|DeveloperTools|onnxruntime|deviceid|mat-debug|\.ses$/.test(f));
    assert.deepEqual(leaked, []);
    assert.ok(listFiles(home).some((f) => f.endsWith('library.db')), 'the run did write its own library');
  });
});

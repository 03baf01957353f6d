/**
 * The README's set-up on a fresh clone: `npm install` (its postinstall step), then
 * `kith serve`, then the printed address shows the app, not `{"error":"not found"}`. And a
 * clone whose UI was never built makes `kith serve` say exactly what to run, instead of
 * starting without it. Slow (a Vite build): about half a minute here.
 *
 * The clone shares this checkout's node_modules (a symlink) and model files (copied), so the
 * postinstall runs offline; everything it builds, it builds inside the clone.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { REPO, tempDir } from './helpers.ts';

const IS_CLONE = existsSync(join(REPO, '.git')) && spawnSync('git', ['--version']).status === 0;

/** Run `kith serve` from `checkout` until it prints its address (or exits); returns its output and what `/` answers. */
async function serveFrom(checkout: string, db: string): Promise<{ code: number | null; stdout: string; stderr: string; index?: string; script?: { status: number; type: string | null } }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(checkout, 'native', 'cli', 'cli.ts'), 'serve', '--db', db, '--port', '0', '--device', 'cpu'], {
    cwd: checkout,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const url = await new Promise<string | null>((done) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /running at (http:\/\/\S+)/.exec(stdout);
      if (m) done(m[1]!);
    });
    void exited.then(() => done(null));
  });
  if (!url) return { code: await exited, stdout, stderr };
  try {
    const index = await (await fetch(url)).text();
    const src = /<script[^>]+src="([^"]+)"/.exec(index)?.[1];
    const script = src ? await fetch(new URL(src, url)) : null;
    return { code: null, stdout, stderr, index, script: script ? { status: script.status, type: script.headers.get('content-type') } : undefined };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

describe('kith serve after the README set-up, on a fresh clone', { skip: IS_CLONE ? false : 'not a git checkout' }, () => {
  const dir = tempDir('kith-fresh-');
  const clone = join(dir, 'kith');
  const db = join(dir, 'library.db');

  before(() => {
    const r = spawnSync('git', ['clone', '--quiet', REPO, clone], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    symlinkSync(join(REPO, 'node_modules'), join(clone, 'node_modules'), 'dir');
    cpSync(join(REPO, 'models', 'onnx'), join(clone, 'models', 'onnx'), { recursive: true });
  });

  it('npm install runs the renderer build after the models', () => {
    const scripts = (JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    assert.match(scripts.postinstall!, /npm run models/);
    assert.match(scripts.postinstall!, /npm run build:renderer/);
  });

  it('refuses to start without the UI, and says exactly what to run', async () => {
    assert.ok(!existsSync(join(clone, 'dist')), 'a fresh clone has no build');
    const r = await serveFrom(clone, db);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(`cd ${JSON.stringify(clone)} && npm run build:renderer`), r.stderr);
    assert.doesNotMatch(r.stdout, /running at/);
  });

  it('answers the app at / once the postinstall step has run', async () => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const install = spawnSync(npm, ['run', 'postinstall'], { cwd: clone, encoding: 'utf8', shell: process.platform === 'win32' });
    assert.equal(install.status, 0, install.stdout + install.stderr);
    assert.ok(existsSync(join(clone, 'dist', 'renderer', 'index.html')));
    const r = await serveFrom(clone, db);
    assert.match(r.index ?? '', /<div id="app">/, r.stderr);
    assert.deepEqual(r.script, { status: 200, type: 'text/javascript; charset=utf-8' });
  });
});

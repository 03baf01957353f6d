/**
 * The desktop package, built for real by electron-builder from electron-builder.yml, with the
 * one thing this machine cannot download replaced: Electron itself (a stub `electronDist`,
 * `dir` target). It proves the config stays valid and ships what the app needs: the bundles,
 * the models beside the asar, the native modules unpacked from it, and only this platform's
 * onnxruntime. Takes about 5–10 s (esbuild + electron-builder copying ~80 MB).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, closeSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, describe, it } from 'node:test';
import { buildApp } from '../electron/build.ts';
import { FACES, REPO, tempDir } from './helpers.ts';

interface AsarEntry {
  files?: Record<string, AsarEntry>;
  size?: number;
  unpacked?: boolean;
}

/** The asar header (a Chromium pickle: sizes, then the JSON directory tree). */
function readAsarHeader(file: string): AsarEntry {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(16);
    readSync(fd, head, 0, 16, 0);
    const jsonLength = head.readUInt32LE(12);
    const json = Buffer.alloc(jsonLength);
    readSync(fd, json, 0, jsonLength, 16);
    return JSON.parse(json.toString('utf8')) as AsarEntry;
  } finally {
    closeSync(fd);
  }
}

/** Every file in the asar tree as 'path/inside' → entry. */
function asarFiles(node: AsarEntry, prefix = ''): Map<string, AsarEntry> {
  const out = new Map<string, AsarEntry>();
  for (const [name, child] of Object.entries(node.files ?? {})) {
    const path = prefix ? `${prefix}/${name}` : name;
    if (child.files) for (const [p, e] of asarFiles(child, path)) out.set(p, e);
    else out.set(path, child);
  }
  return out;
}

function walk(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    return statSync(full).isDirectory() ? walk(full, rel) : [rel];
  });
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CSC_IDENTITY_AUTO_DISCOVERY: 'false' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

/**
 * Electron's fuse wire, as every Electron >= 12 executable carries it: a sentinel, the wire
 * version (1), the number of fuses, then one byte per fuse, '1' on and '0' off. The stub
 * carries one with Electron's defaults, so electron-builder has real fuses to flip.
 */
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const FUSES = ['RunAsNode', 'EnableCookieEncryption', 'EnableNodeOptionsEnvironmentVariable', 'EnableNodeCliInspectArguments', 'EnableEmbeddedAsarIntegrityValidation', 'OnlyLoadAppFromAsar', 'LoadBrowserProcessSpecificV8Snapshot', 'GrantFileProtocolExtraPrivileges'];
const ELECTRON_DEFAULT_FUSES = '10110001';

function readFuses(executable: string): Record<string, boolean> {
  const bin = readFileSync(executable);
  const at = bin.indexOf(FUSE_SENTINEL);
  assert.ok(at >= 0, `fuse sentinel in ${executable}`);
  const wire = at + FUSE_SENTINEL.length;
  assert.equal(bin[wire], 1, 'fuse wire version 1');
  const length = bin[wire + 1]!;
  return Object.fromEntries(FUSES.slice(0, length).map((name, i) => [name, bin[wire + 2 + i] === 0x31]));
}

const arch = process.arch; // electron-builder's names match Node's for x64 and arm64
const otherOrtBinaries = (path: string) =>
  /^node_modules\/onnxruntime-node\/bin\/napi-v\d+\/([^/]+)(?:\/([^/]+))?/.exec(path)?.slice(1).filter(Boolean) ?? [];

describe('packaging with electron-builder (dir target, stub Electron)', () => {
  let out: string;
  let resources: string;
  let files: Map<string, AsarEntry>;
  let unpacked: string[];
  let executable: string;

  before(async () => {
    await buildApp();
    const dir = tempDir('kith-pack-');
    // What electron-builder copies from an unpacked Electron for Linux: the `electron`
    // executable (renamed to the app's) and its resources/locales folders.
    const stub = join(dir, 'electron-stub');
    mkdirSync(join(stub, 'resources'), { recursive: true });
    mkdirSync(join(stub, 'locales'), { recursive: true });
    writeFileSync(join(stub, 'electron'), Buffer.concat([Buffer.from(`#!/bin/sh\necho "stub Electron"\nexit 0\n# ${FUSE_SENTINEL}`), Buffer.from([1, FUSES.length]), Buffer.from(`${ELECTRON_DEFAULT_FUSES}\n`)]));
    chmodSync(join(stub, 'electron'), 0o755);
    writeFileSync(join(stub, 'locales', 'en-US.pak'), '');
    out = join(dir, 'release');
    const cli = join(REPO, 'node_modules', 'electron-builder', 'cli.js');
    const result = await run(
      process.execPath,
      [cli, '--linux', 'dir', `--${arch}`, '--publish', 'never', `-c.electronDist=${stub}`, '-c.electronVersion=45.3.4', `-c.directories.output=${out}`],
      180_000,
    );
    assert.equal(result.code, 0, `electron-builder failed:\n${result.output}`);
    const appDir = join(out, arch === 'x64' ? 'linux-unpacked' : `linux-${arch}-unpacked`);
    resources = join(appDir, 'resources');
    executable = join(appDir, 'kith');
    files = asarFiles(readAsarHeader(join(resources, 'app.asar')));
    unpacked = walk(join(resources, 'app.asar.unpacked'));
  });

  it('keeps the config as the release needs it: AppImage+deb, dmg, nsis, no rebuild of native modules', () => {
    const yml = readFileSync(join(REPO, 'electron-builder.yml'), 'utf8');
    assert.match(yml, /^npmRebuild: false$/m);
    assert.match(yml, /^productName: Kith$/m);
    assert.match(yml, /linux:\n  target:\n    - AppImage\n    - deb\n/);
    assert.match(yml, /mac:\n(?:  #.*\n)*  target:\n    - target: dmg\n/);
    assert.match(yml, /win:\n  target:\n    - target: nsis\n/);
  });

  it('flips the Electron fuses: no RunAsNode, NODE_OPTIONS or --inspect; only app.asar, integrity-checked; no file:// privileges', () => {
    assert.deepEqual(readFuses(executable), {
      RunAsNode: false,
      EnableCookieEncryption: false,
      EnableNodeOptionsEnvironmentVariable: false,
      EnableNodeCliInspectArguments: false,
      EnableEmbeddedAsarIntegrityValidation: true,
      OnlyLoadAppFromAsar: true,
      LoadBrowserProcessSpecificV8Snapshot: false,
      GrantFileProtocolExtraPrivileges: false,
    });
  });

  it('names the executable after the app and ships the bundles, not the sources', () => {
    assert.ok(existsSync(join(resources, '..', 'kith')), 'linux executable renamed to kith');
    for (const f of ['package.json', 'dist/electron/main.js', 'dist/electron/preload.cjs', 'dist/engine/engine-host.js', 'dist/engine/photo-worker.js', 'dist/engine/embed-worker.js']) {
      assert.ok(files.has(f), `${f} in app.asar`);
    }
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { main: string; devDependencies: Record<string, string> };
    assert.ok(files.has(pkg.main), `package.json "main" (${pkg.main}) is in the asar`);
    if (existsSync(join(REPO, 'dist', 'renderer', 'index.html'))) assert.ok(files.has('dist/renderer/index.html'));
    const stray = [...files.keys()].filter((f) => !f.startsWith('node_modules/') && !f.startsWith('dist/') && f !== 'package.json');
    assert.deepEqual(stray, [], 'nothing but dist/ and package.json from the project');
    assert.deepEqual([...files.keys()].filter((f) => f.endsWith('.map') || (f.startsWith('dist/') && f.endsWith('.ts'))), []);
    const shippedPackages = new Set([...files.keys()].filter((f) => f.startsWith('node_modules/')).map((f) => f.split('/')[1]));
    for (const dev of ['electron', 'electron-builder', 'typescript', 'tsx', 'esbuild', 'node', 'vite', 'svelte']) {
      assert.ok(pkg.devDependencies[dev] === undefined || !shippedPackages.has(dev), `devDependency ${dev} is not shipped`);
    }
    for (const dep of ['better-sqlite3', 'onnxruntime-node', 'sharp', 'hnswlib-node', 'heic-decode', 'exifr']) {
      assert.ok(shippedPackages.has(dep), `dependency ${dep} is shipped`);
    }
  });

  it('bundles a self-contained sandboxed preload (it may only require electron)', () => {
    const preload = readFileSync(join(REPO, 'dist', 'electron', 'preload.cjs'), 'utf8');
    const required = [...preload.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(required)], ['electron']);
    assert.doesNotMatch(preload, /^\s*import\s/m, 'CommonJS, not ESM');
  });

  it('bundles an engine host that starts under plain Node, indexes with its bundled pool workers and answers over its port', async () => {
    const db = join(tempDir('kith-pack-db-'), 'library.db');
    const photos = tempDir('kith-pack-photos-');
    copyFileSync(join(FACES, 'portraits', 'faceapi-bbt', 'penny', 'penny1.png'), join(photos, 'penny1.png'));
    const script = [
      "import { EventEmitter } from 'node:events';",
      'const port = new EventEmitter();',
      'const next = { 1: { type: "call", id: 2, method: "indexNow", args: [' + JSON.stringify(photos) + '] }, 2: { type: "shutdown", id: 3 } };',
      "port.postMessage = (m) => { console.log(JSON.stringify(m)); if (next[m.id]) port.emit('message', { data: next[m.id] }); };",
      'process.parentPort = port;',
      `await import(${JSON.stringify(pathToFileURL(join(REPO, 'dist', 'engine', 'engine-host.js')).href)});`,
      "port.emit('message', { data: { type: 'call', id: 1, method: 'status', args: [] } });",
    ].join('\n');
    const result = await new Promise<{ code: number | null; stdout: string }>((done) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, KITH_DB: db }, stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('close', (code) => {
        clearTimeout(timer);
        done({ code, stdout });
      });
    });
    const messages = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; id?: number; result?: { photos?: number; summary?: { indexed: number; faces: number } } });
    const replies = messages.filter((m) => m.type !== 'event');
    assert.deepEqual(replies[0], { type: 'ready' });
    assert.equal(replies[1]!.type, 'result');
    assert.equal(replies[1]!.result!.photos, 0);
    assert.equal(replies[2]!.type, 'result', JSON.stringify(replies[2]));
    assert.deepEqual([replies[2]!.result!.summary!.indexed, replies[2]!.result!.summary!.faces], [1, 1], 'the photo indexed by the bundled worker');
    assert.deepEqual(replies[3], { type: 'result', id: 3, result: null });
    assert.equal(result.code, 0, 'exits after shutdown');
    assert.ok(existsSync(db), 'opened the library at KITH_DB');
  });

  it('puts the ONNX models beside the asar, in resources/models, complete', () => {
    const manifest = JSON.parse(readFileSync(join(resources, 'models', 'manifest.json'), 'utf8')) as { models: Array<{ file: string }> };
    assert.ok(manifest.models.length > 0);
    for (const m of manifest.models) {
      const shipped = join(resources, 'models', m.file);
      assert.ok(existsSync(shipped), `${m.file} shipped`);
      assert.equal(statSync(shipped).size, statSync(join(REPO, 'models', 'onnx', m.file)).size);
    }
    assert.ok(![...files.keys()].some((f) => f.endsWith('.onnx')), 'no model inside the asar');
  });

  it('unpacks every native module (and its shared libraries) from the asar', () => {
    const expected = [
      `node_modules/better-sqlite3/prebuilds/linux-${arch}.node`,
      'node_modules/hnswlib-node/build/Release/addon.node',
      `node_modules/onnxruntime-node/bin/napi-v6/linux/${arch}/onnxruntime_binding.node`,
      `node_modules/onnxruntime-node/bin/napi-v6/linux/${arch}/libonnxruntime.so.1`,
      // Not native, but perl cannot read it from inside the asar (XMP export).
      'node_modules/exiftool-vendored.pl/bin/exiftool',
    ];
    for (const f of expected) {
      assert.ok(unpacked.includes(f), `${f} in app.asar.unpacked`);
      assert.equal(files.get(f)?.unpacked, true, `${f} marked unpacked in the asar header`);
    }
    const sharpNode = unpacked.filter((f) => /^node_modules\/@img\/sharp-linux-[^/]+\/lib\/.*\.node$/.test(f));
    const libvips = unpacked.filter((f) => /^node_modules\/@img\/sharp-libvips-linux-[^/]+\/lib\/libvips-cpp\.so/.test(f));
    assert.equal(sharpNode.length, 1, 'sharp binding unpacked');
    assert.equal(libvips.length, 1, 'libvips unpacked next to it');
    const packedNative = [...files].filter(([f, e]) => f.endsWith('.node') && !e.unpacked).map(([f]) => f);
    assert.deepEqual(packedNative, [], 'no .node file left inside the asar');
  });

  it("ships only this platform's onnxruntime and better-sqlite3 binaries", () => {
    const ort = new Set([...files.keys(), ...unpacked].map(otherOrtBinaries).filter((p) => p.length === 2).map((p) => p.join('/')));
    assert.deepEqual([...ort], [`linux/${arch}`]);
    const prebuilds = unpacked.filter((f) => f.startsWith('node_modules/better-sqlite3/prebuilds/'));
    assert.deepEqual(prebuilds, [`node_modules/better-sqlite3/prebuilds/linux-${arch}.node`]);
    assert.ok(![...files.keys()].some((f) => f.startsWith('node_modules/better-sqlite3/deps/')), 'no SQLite sources');
    const ortBytes = unpacked.filter((f) => f.startsWith('node_modules/onnxruntime-node/')).reduce((n, f) => n + statSync(join(resources, 'app.asar.unpacked', f)).size, 0);
    assert.ok(ortBytes < 100 * 1024 * 1024, `onnxruntime ships ${Math.round(ortBytes / 1048576)} MB, not the 288 MB of every platform`);
  });
});

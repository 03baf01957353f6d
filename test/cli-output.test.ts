/**
 * What the `kith` command prints, as a user at a terminal or in a pipe sees it: every byte
 * reaches the pipe (`kith export --json | jq`), a reader that stops early (`| head -1`) ends
 * the command quietly, the progress bar's time left reads 7m16s, Ctrl+C says the run was
 * interrupted and will resume (and it does), and `kith suggest` says why it has nothing.
 * Runs the real bin/kith.js and native/cli/cli.ts as child processes on real photos.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { formatDuration } from '../native/cli/index-report.ts';
import { BBT, copyFaces, facesIn, FACES, listFiles, REPO, runCli, startCli, tempDir } from './helpers.ts';

const KITH = join(REPO, 'bin', 'kith.js');

/** Run a bash pipeline with $NODE, $KITH and `vars` in its environment. */
function bash(script: string, vars: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn('bash', ['-c', script], { cwd: REPO, env: { ...process.env, NODE: process.execPath, KITH, ...vars }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/**
 * Group photos made of real portraits: an 8×8 grid of the 150×150 faceapi-bbt crops, each
 * mosaic starting at another portrait. Each one gives Kith 64 real faces to find.
 */
async function writeMosaics(dir: string, count: number): Promise<void> {
  const portraits = listFiles(BBT).filter((f) => f.endsWith('.png'));
  mkdirSync(dir, { recursive: true });
  for (let m = 0; m < count; m++) {
    const tiles = Array.from({ length: 64 }, (_, i) => ({ input: portraits[(m * 7 + i) % portraits.length]!, left: (i % 8) * 150, top: Math.floor(i / 8) * 150 }));
    await sharp({ create: { width: 1200, height: 1200, channels: 3, background: '#808080' } })
      .composite(tiles)
      .jpeg({ quality: 85 })
      .toFile(join(dir, `group-${m}.jpg`));
  }
}

describe('kith output in a pipe', () => {
  const dir = tempDir('kith-pipe-');
  const db = join(dir, 'library.db');
  let indexStderr = '';

  before(async () => {
    // 256 real faces (export --json ≈ 80 KB, more than a pipe holds) and 4,500 photos cut
    // short after 400-4,900 bytes (kith errors > 1 MB): a real, if unlucky, library.
    await writeMosaics(join(dir, 'photos', 'groups'), 4);
    const broken = join(dir, 'photos', 'broken');
    mkdirSync(broken);
    const photo = readFileSync(join(FACES, facesIn('portraits/deepface', (p) => p.endsWith('.jpg'))[0]!));
    // Each cut at another length: distinct files, not copies of one.
    for (let i = 0; i < 4500; i++) writeFileSync(join(broken, `cut-${i}.jpg`), photo.subarray(0, 400 + i));
    const r = await bash('"$NODE" "$KITH" index "$DIR/photos" --db "$DB" --device cpu --embedder sirius', { DIR: dir, DB: db });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /4 indexed.*\n.*256 faces found, 4500 errors/);
    indexStderr = r.stderr;
  });

  it('kith export --json | wc -c: every byte of the answer, the same as into a file', async () => {
    const r = await bash('"$NODE" "$KITH" export --json --db "$DB" > "$DIR/export.json"; "$NODE" "$KITH" export --json --db "$DB" | wc -c; echo "${PIPESTATUS[0]}"', { DIR: dir, DB: db });
    const [piped, code] = r.stdout.trim().split('\n').map(Number);
    const file = statSync(join(dir, 'export.json')).size;
    assert.ok(file > 65_536, `export is ${file} bytes: more than one pipe buffer`);
    assert.equal(piped, file);
    assert.equal(code, 0);
    assert.equal((JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as { faces: unknown[] }).faces.length, 256);
  });

  it('kith errors into a reader that waits: over 1 MB, all of it', async () => {
    const r = await bash('"$NODE" "$KITH" errors --db "$DB" > "$DIR/errors.txt"; "$NODE" "$KITH" errors --db "$DB" | { sleep 3; wc -c; }; echo "${PIPESTATUS[0]}"', { DIR: dir, DB: db });
    const [piped, code] = r.stdout.trim().split('\n').map(Number);
    const file = statSync(join(dir, 'errors.txt')).size;
    assert.ok(file > 1_000_000, `errors is ${file} bytes`);
    assert.equal(piped, file);
    assert.equal(code, 0);
  });

  it('| head -1 ends kith quietly: exit 0, no EPIPE, nothing on stderr', async () => {
    for (const command of ['export --json', 'errors']) {
      const r = await bash(`"$NODE" "$KITH" ${command} --db "$DB" 2>"$DIR/stderr.txt" | head -1; echo "\${PIPESTATUS[0]}"`, { DIR: dir, DB: db });
      const [first, code] = r.stdout.trim().split('\n');
      assert.ok(first === '{' || first!.endsWith('.jpg'), first);
      assert.equal(code, '0', command);
      assert.equal(readFileSync(join(dir, 'stderr.txt'), 'utf8'), '', command);
    }
  });

  it('the progress bar shows the time left as 7m16s, not raw seconds', () => {
    assert.equal(formatDuration(436), '7m16s');
    assert.equal(formatDuration(45.4), '45s');
    assert.equal(formatDuration(7260), '2h01m');
    assert.equal(formatDuration(null), '--');
    const etas = [...indexStderr.matchAll(/ETA (\S+) \|/g)].map((m) => m[1]!);
    assert.ok(etas.length > 0, indexStderr);
    for (const eta of etas) assert.match(eta, /^(--|\d+s|\d+m\d\ds|\d+h\d\dm)$/);
  });
});

describe('Ctrl+C during kith index', () => {
  const N = 400;
  it('says the run was interrupted and will resume; the next run carries on where it stopped', async () => {
    const dir = tempDir('kith-sigint-');
    // Enough photos that the run is still going when the first progress line (after ~2 s) arrives.
    const photos = copyFaces(join(dir, 'photos'), facesIn('lfw-dev').slice(0, N));
    const db = join(dir, 'library.db');
    const args = ['index', join(dir, 'photos'), '--db', db, '--device', 'cpu', '--embedder', 'sirius'];
    const child = startCli(args);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const barShown = new Promise<void>((shown) =>
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        // Mid-run: some photos done (before that, there is nothing in hand to keep).
        if (new RegExp(String.raw` [1-9]\d*/${N} photos \|`).test(stderr)) shown();
      }),
    );
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    await barShown;
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /Stopping after the photos in hand/);
    const reached = new RegExp(
      String.raw`Indexing was interrupted at (\d+) of ${N} photos\. Everything indexed so far is saved; run \`kith index (\S+) --db (\S+) --device cpu --embedder sirius\` again and it resumes where it stopped\.`,
    ).exec(stdout);
    assert.ok(reached, stdout);
    assert.equal(reached[2], join(dir, 'photos'));
    assert.ok(Number(reached[1]) < photos.length, 'stopped before the end');

    const again = await runCli(args);
    assert.equal(again.code, 0, again.stderr);
    const saved = Number(/(\d+) unchanged/.exec(again.stdout)![1]);
    assert.ok(saved > 0, `the interrupted run's photos were kept (${again.stdout})`);
    assert.match(again.stdout, new RegExp(`${N} photos found: ${N - saved} indexed, ${saved} unchanged`));
  });
});

describe('kith suggest with nothing to suggest', () => {
  it('says why: nobody named yet, or every face already named', async () => {
    const dir = tempDir('kith-suggest-');
    copyFaces(join(dir, 'photos'), facesIn('portraits/faceapi-bbt', (p) => /\/(leonard|penny)\//.test(p)));
    const db = ['--db', join(dir, 'library.db')];
    assert.equal((await runCli(['index', join(dir, 'photos'), ...db, '--device', 'cpu', '--embedder', 'sirius'])).code, 0);

    const before = await runCli(['suggest', ...db]);
    assert.match(before.stdout, /^No suggestions yet: name a few people first/);

    const people = (await runCli(['people', ...db])).stdout.split('\n').filter((l) => l.startsWith('#'));
    assert.ok(people.length >= 2, people.join('\n'));
    for (const [i, line] of people.entries()) assert.equal((await runCli(['name', line.split('\t')[0]!.slice(1), `Person ${i + 1}`, ...db])).code, 0);
    const status = (await runCli(['people', ...db])).stdout;
    assert.match(status, /, 0 unassigned faces/, status);

    const after = await runCli(['suggest', ...db]);
    assert.equal(after.code, 0);
    assert.equal(after.stdout.trim(), 'No suggestions: every face already belongs to a named person.');
  });
});

describe('npx kith in a terminal', () => {
  it('prints Kith and no npm warnings (no unknown .npmrc key, no engine mismatch for Node 20)', async (t) => {
    const npm = await bash('npm --version', {});
    const [major, minor] = npm.stdout.trim().split('.').map(Number);
    if (major! < 11 || (major === 11 && minor! < 16)) return t.skip(`npm ${npm.stdout.trim()} predates allowScripts (11.16)`);
    const r = await bash('npx kith --help', {});
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^kith: finds the people in your photos/);
    assert.equal(r.stderr, '');
  });

  it('keeps onnxruntime-node\'s install script (a CUDA download from NuGet) switched off by allowScripts', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { allowScripts: Record<string, boolean>; engines: Record<string, string> };
    assert.equal(pkg.allowScripts['onnxruntime-node'], false);
    assert.equal(pkg.engines.npm, '>=11.16', 'npm honours allowScripts from 11.16');
  });
});

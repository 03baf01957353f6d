/**
 * @file Shared test fixtures: where the real face photos are, throwaway library folders,
 * waiting for a state, and running the real `kith` CLI as a child process.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The labelled photos beside the checkout (../shared/faces). */
export const FACES = process.env.KITH_FACES ?? resolve(REPO, '..', 'shared', 'faces');
export const BBT = join(FACES, 'portraits', 'faceapi-bbt');

/** A temporary folder removed when the test process exits (node:test hooks registered from inside a hook run too early). */
export function tempDir(prefix = 'kith-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every file under `dir`, recursively, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listFiles(full));
    else out.push(full);
  }
  return out.sort();
}

/** Copy the given files (paths relative to FACES) into `dest`, keeping their relative layout. */
export function copyFaces(dest: string, relPaths: string[]): string[] {
  return relPaths.map((rel) => {
    const to = join(dest, rel);
    mkdirSync(dirname(to), { recursive: true });
    cpSync(join(FACES, rel), to);
    return to;
  });
}

/** Relative paths of photos in a FACES subfolder (e.g. 'portraits/faceapi-bbt'). */
export function facesIn(sub: string, filter: (rel: string) => boolean = () => true): string[] {
  return listFiles(join(FACES, sub))
    .map((p) => relative(FACES, p))
    .filter((p) => /\.(jpe?g|png|webp)$/i.test(p) && filter(p));
}

/**
 * Wait for a state, not a time: ask `probe` again and again (every `every` ms) until it answers
 * something other than undefined, null or false, and return that; fail after `timeout` ms,
 * saying what did not happen and the last answer.
 */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, { timeout = 10_000, every = 50 } = {}): Promise<Exclude<T, undefined | null | false>> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const got = await probe();
    if (got !== undefined && got !== null && got !== false) return got as Exclude<T, undefined | null | false>;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeout} ms waiting for ${what} (last: ${String(got)})`);
    await sleep(every);
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Start the real CLI under the project's Node, in one process (tsx's own CLI would fork a
 * second one, and a kill -9 would then miss the process doing the work).
 */
export function startCli(args: string[], options: SpawnOptions = {}) {
  return spawn(process.execPath, ['--import', 'tsx', join(REPO, 'native', 'cli', 'cli.ts'), ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
}

export function runCli(args: string[], options: SpawnOptions = {}): Promise<CliResult> {
  const child = startCli(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((done) => child.on('close', (code, signal) => done({ code, signal, stdout, stderr })));
}

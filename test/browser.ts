/**
 * @file What a browser story needs: a real `kith serve` child process and its API over HTTP,
 * Debian's Chromium through playwright-core, and patient checks on the page; shared by the
 * browser stories (test/ui*.test.ts, test/people-maybe-ui.test.ts).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import type { ApiMethod, KithApiSpec } from '../native/api/types.ts';
import { REPO, startCli, waitFor } from './helpers.ts';

export const CHROMIUM = process.env.KITH_CHROMIUM ?? '/usr/bin/chromium';
/** What a machine without Chromium is told, in the failure or in the skip. */
const MISSING = `no Chromium at ${CHROMIUM}: install it (Debian/Ubuntu: apt-get install chromium) or set KITH_CHROMIUM to a Chromium or Chrome binary; KITH_SKIP_BROWSER=1 skips the browser tests`;
/**
 * The `skip` option of a browser story: false (run it) unless KITH_SKIP_BROWSER=1 asks to skip
 * the browser tests. Without Chromium a story is not skipped quietly: launch() fails, saying why.
 */
export const NO_BROWSER = process.env.KITH_SKIP_BROWSER === '1' ? `KITH_SKIP_BROWSER=1${existsSync(CHROMIUM) ? '' : ` (${MISSING})`}` : false;
const ARTIFACTS = join(REPO, 'test-artifacts');

export interface Server {
  url: string;
  origin: string;
  port: number;
  token: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `kith serve` on a free port, on the CPU; `env` adds to the child's environment (e.g. HOME). */
export async function serve(db: string, env: Record<string, string> = {}): Promise<Server> {
  const child = startCli(['serve', '--db', db, '--port', '0', '--device', 'cpu'], { env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    process.stderr.write(`[kith serve] ${d.toString()}`);
  });
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`kith serve printed no URL:\n${out}\n${err}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /running at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        done(m[1]!);
      }
    });
    child.once('exit', (code) => fail(new Error(`kith serve exited with ${code}:\n${err}`)));
  });
  const u = new URL(url);
  return {
    url,
    origin: u.origin,
    port: Number(u.port),
    token: u.searchParams.get('token')!,
    child,
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

type Result<M extends ApiMethod> = ReturnType<KithApiSpec[M]>;

/**
 * The engine's API over the server's HTTP transport, as any client calls it. A `status` read
 * that meets a reset connection is asked once more: while indexing loads its models the
 * server's event loop can stall past its keep-alive timeout, and it then drops the idle socket
 * the client is reusing (seen while polling status every 100 ms).
 */
export function apiOf(server: () => Server) {
  return async function api<M extends ApiMethod>(method: M, ...args: Parameters<KithApiSpec[M]>): Promise<Result<M>> {
    const s = server();
    const ask = () =>
      fetch(`${s.origin}/api/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-kith-token': s.token },
        body: JSON.stringify({ args }),
      });
    const reset = (err: unknown) => (err as { cause?: { code?: string } }).cause?.code === 'ECONNRESET';
    const res = await ask().catch((err: unknown) => {
      if (method === 'status' && reset(err)) return ask();
      throw err;
    });
    const body = (await res.json()) as { result?: Result<M>; error?: string };
    if (!res.ok) throw new Error(`${method}: ${res.status} ${body.error}`);
    return body.result as Result<M>;
  };
}

type Progress = NonNullable<Result<'status'>['indexing']>;

/** Wait until the server's indexing run reports progress that `ready` accepts; returns it. */
export function runProgress(server: Server, ready: (run: Progress) => boolean, timeout = 180_000): Promise<Progress> {
  const api = apiOf(() => server);
  return waitFor(
    'the indexing run to get there',
    async () => {
      const run = (await api('status')).indexing;
      return run && ready(run) ? run : null;
    },
    { timeout, every: 20 },
  );
}

/**
 * Run `fn` with the server stopped (SIGSTOP), then let it go on (SIGCONT): no photo is indexed
 * and no event sent meanwhile, so the page holds still; requests the page makes wait in their
 * sockets, and the server reads them as soon as it goes on.
 */
export async function whileFrozen<T>(server: Server, fn: () => Promise<T>): Promise<T> {
  server.child.kill('SIGSTOP');
  try {
    return await fn();
  } finally {
    server.child.kill('SIGCONT');
  }
}

/**
 * Click Pause while the run surely has photos left: once the engine reports at least `done`
 * photos indexed and at least `ahead` still to go, the server is frozen for the click, so
 * however slow the click, no photo is indexed meanwhile; let go, the server reads the pause
 * request long before it could index `ahead` more photos. When the run is already too near its
 * end, this fails (the folder is too small) rather than racing it.
 */
export async function pauseMidRun(server: Server, page: Page, { done = 1, ahead = 10 } = {}): Promise<void> {
  const run = await runProgress(server, (p) => p.phase === 'indexing' && p.done >= done);
  assert.ok(run.total - run.done >= ahead, `the run was too near its end to pause mid-run: ${run.done} of ${run.total} photos (a bigger folder is needed)`);
  await whileFrozen(server, async () => {
    const sent = page.waitForRequest((r) => r.url().endsWith('/api/pauseIndex'));
    await page.getByTestId('pause-button').click();
    await sent;
  });
}

export function ensureRendererBuilt(): void {
  if (existsSync(join(REPO, 'dist', 'renderer', 'index.html'))) return;
  const r = spawnSync(process.execPath, [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'renderer/vite.config.ts'], {
    cwd: REPO,
    stdio: 'inherit',
  });
  assert.equal(r.status, 0, 'building the renderer failed');
}

/** Debian's Chromium, headless; fails with what to do when there is none. */
export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(MISSING);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

/** A screenshot in test-artifacts/; returns its path. */
export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, animations: 'disabled' });
  return path;
}

/** Wait until the first match's text is `text` (or matches it), then return it. */
export async function waitText(locator: Locator, text: string | RegExp, timeout = 10_000): Promise<string> {
  await locator.first().waitFor({ timeout });
  let last = '';
  const read = async () => {
    last = (await locator.first().textContent())?.trim().replace(/\s+/g, ' ') ?? '';
    return (typeof text === 'string' ? last === text : text.test(last)) ? last : null;
  };
  return waitFor(`the text ${String(text)}`, read, { timeout, every: 100 }).catch(() => assert.fail(`expected ${String(text)}, saw "${last}"`));
}

/** Wait until `locator` matches exactly `n` elements. */
export async function waitCount(locator: Locator, n: number, timeout = 10_000): Promise<void> {
  let last = -1;
  await waitFor(`${n} elements`, async () => (last = await locator.count()) === n, { timeout, every: 100 }).catch(() => assert.equal(last, n));
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function overlap(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

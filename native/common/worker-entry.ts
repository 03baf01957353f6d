/**
 * @file Starting one of Kith's worker threads from the module that owns it: the worker's
 * TypeScript source under tsx (development), its bundle beside the caller's bundle in the app.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * The bundle needs no flags (and some of the app's, like --input-type, are refused in a worker).
 * The TypeScript source runs only with tsx's loader, which `kith` registers in-process, where a
 * worker does not inherit it.
 */
function execArgvFor(url: URL): string[] {
  if (!url.pathname.endsWith('.ts')) return [];
  const argv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  return argv.some((a, i) => a === 'tsx' && argv[i - 1] === '--import') ? argv : [...argv, '--import', 'tsx'];
}

/** Starts the worker `name` (e.g. 'photo-worker') that sits beside `callerUrl` (the caller's import.meta.url). */
export function startWorker(callerUrl: string, name: string, options: Omit<WorkerOptions, 'execArgv'> = {}): Worker {
  const url = new URL(callerUrl.endsWith('.ts') ? `./${name}.ts` : `./${name}.js`, callerUrl);
  return new Worker(url, { ...options, execArgv: execArgvFor(url) });
}

/**
 * The first message of a worker that loads models: 'ready' resolves with it, 'load-failed' rejects
 * with its message, and so does an error or an exit before either. `what` names the worker in errors.
 */
export function whenReady<Ready extends { kind: 'ready' }>(worker: Worker, what: string): Promise<Ready> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`${what} stopped while loading (exit code ${code})`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.once('message', (msg: Ready | { kind: string; message?: string }) => {
      worker.off('error', reject);
      worker.off('exit', onExit);
      if (msg.kind === 'ready') resolve(msg as Ready);
      else reject(new Error(msg.kind === 'load-failed' && 'message' in msg ? msg.message : `${what} said ${msg.kind} first`));
    });
  });
}

/** How long a closing worker may take to release its sessions before it is terminated anyway. */
const RELEASE_TIMEOUT_MS = 10_000;

/**
 * Asks a worker that holds model sessions to release them ({kind: 'release'}, answered with
 * {kind: 'released'}), then terminates it (runtime.ts `releaseSessions` says why).
 */
export function stopAfterRelease(worker: Worker): Promise<number> {
  // A thread that has already ended answers nothing: its threadId is -1 from then on.
  if (worker.threadId === -1) return worker.terminate();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, RELEASE_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    worker.on('message', (msg: { kind?: string }) => msg?.kind === 'released' && done());
    worker.once('exit', done);
    worker.postMessage({ kind: 'release' });
  }).then(() => worker.terminate());
}

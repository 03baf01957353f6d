/**
 * @file The engine's side of the desktop app's IPC. The Electron main process forks this file
 * as a `utilityProcess`, so indexing (decode, ONNX inference, SQLite writes) never runs on the
 * thread that paints the window. It imports nothing from Electron: the one Electron object it
 * uses, `process.parentPort`, is reached through the tiny `Port` interface, so tests drive the
 * very same handler with a fake port against a real engine.
 *
 * Wire format (structured-clone messages, one reply per request id):
 *   main → host  { type:'call', id, method, args }            → { type:'result', id, result }
 *                                                                | { type:'error', id, message, user }
 *                { type:'resource', id, kind, faceOrPhotoId } → { type:'result', id, result: {path,type}|null }
 *                { type:'shutdown', id }                      → { type:'result', id, result:null }, then exit
 *   host → main  { type:'ready' } once listening;  { type:'event', event, data } for every engine event.
 */
import '../pipeline/no-telemetry.ts';
import { KithEngine } from './api.ts';
import { API_METHODS } from './methods.ts';
import type { ApiMethod, KithEvents } from './types.ts';
import { prepareLibraryFolder } from '../store/library-files.ts';
import { defaultDbPath } from '../store/library-path.ts';
import type { DeviceChoice } from '../pipeline/runtime.ts';
import type { ApiHandler } from './handler.ts';
import { Store } from '../store/index.ts';

/** The part of Electron's `process.parentPort` the host uses (a fake in tests). */
export interface Port {
  on(event: 'message', listener: (e: { data: unknown }) => void): unknown;
  postMessage(message: unknown): void;
}

export type HostRequest =
  | { type: 'call'; id: number; method: string; args: unknown[] }
  | { type: 'resource'; id: number; kind: 'thumb' | 'photo'; faceOrPhotoId: number }
  | { type: 'shutdown'; id: number };

export type HostMessage =
  | { type: 'ready' }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; message: string; user: boolean }
  | { type: 'event'; event: keyof KithEvents; data: KithEvents[keyof KithEvents] };

export interface ServeEngineOptions {
  /** Runs on a `shutdown` request, before it is answered (stop indexing, close the store). */
  onShutdown?: () => Promise<void> | void;
  /** Where unexpected (non-user) errors are logged; the message still goes back to main. */
  log?: (line: string) => void;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * Answer requests arriving on `port` with `api`, and forward every engine event. Returns a
 * function that stops forwarding events (the port listener stays; ports have no `off`).
 */
export function serveEngine(api: ApiHandler, port: Port, opts: ServeEngineOptions = {}): () => void {
  const reply = (msg: HostMessage) => port.postMessage(msg);
  const fail = (id: number, err: unknown) => {
    const user = api.isUserError(err);
    if (!user) opts.log?.(`engine error: ${(err as Error)?.stack ?? String(err)}`);
    reply({ type: 'error', id, message: (err as Error)?.message ?? String(err), user });
  };
  const userError = (id: number, message: string) => reply({ type: 'error', id, message, user: true });

  port.on('message', (e) => {
    const msg = e?.data;
    if (!isObject(msg) || typeof msg.id !== 'number') return; // nothing to answer to
    const id = msg.id;
    switch (msg.type) {
      case 'call': {
        const method = msg.method;
        if (typeof method !== 'string' || !(API_METHODS as readonly string[]).includes(method)) {
          return userError(id, `no API method "${String(method)}"`);
        }
        const args = msg.args ?? [];
        if (!Array.isArray(args)) return userError(id, '"args" must be an array');
        api.call(method as ApiMethod, args).then((result) => reply({ type: 'result', id, result: result ?? null }), (err) => fail(id, err));
        return;
      }
      case 'resource': {
        const kind = msg.kind;
        const target = msg.faceOrPhotoId;
        if ((kind !== 'thumb' && kind !== 'photo') || !Number.isSafeInteger(target) || (target as number) < 0) {
          return userError(id, 'resource needs kind "thumb" or "photo" and a non-negative integer id');
        }
        api.resource(kind, target as number).then((result) => reply({ type: 'result', id, result }), (err) => fail(id, err));
        return;
      }
      case 'shutdown':
        Promise.resolve(opts.onShutdown?.()).then(() => reply({ type: 'result', id, result: null }), (err) => fail(id, err));
        return;
      default:
        return userError(id, `unknown request type "${String(msg.type)}"`);
    }
  });
  return api.subscribe((event, data) => reply({ type: 'event', event, data }));
}

function deviceFrom(value: string | undefined): DeviceChoice {
  return value === 'cpu' || value === 'gpu' ? value : 'auto';
}

/**
 * Open the library (env KITH_DB, else the per-user default), start an engine on it and serve
 * it on `port`. KITH_MODELS_DIR, KITH_DEVICE and KITH_EMBEDDER choose models and device.
 */
export function startEngineHost(port: Port, env: NodeJS.ProcessEnv = process.env, exit: (code: number) => void = (c) => process.exit(c)) {
  const dbPath = defaultDbPath(env);
  prepareLibraryFolder(dbPath, !env.KITH_DB); // the per-user Kith folder is 0700
  const store = new Store(dbPath);
  const log = (line: string) => console.error(`kith engine: ${line}`);
  const engine = new KithEngine(store, {
    device: deviceFrom(env.KITH_DEVICE),
    embedder: env.KITH_EMBEDDER || undefined,
    modelsDir: env.KITH_MODELS_DIR || undefined,
    notice: log,
  });
  let closing = false;
  serveEngine(engine, port, {
    log,
    onShutdown: async () => {
      if (closing) return;
      closing = true;
      await engine.close();
      store.close();
      // Let the reply leave before the process goes.
      setTimeout(() => exit(0), 50);
    },
  });
  port.postMessage({ type: 'ready' } satisfies HostMessage);
  // The library stays live while the app runs: folder changes are indexed, other processes' changes shown.
  engine.watchLibrary().catch((err: Error) => log(`cannot watch the library folders: ${err.message}`));
  return { engine, store };
}

// Entry point when Electron forks this file as a utility process (plain Node has no parentPort).
const parentPort = (process as unknown as { parentPort?: Port }).parentPort;
if (parentPort) {
  try {
    startEngineHost(parentPort);
  } catch (err) {
    console.error(`kith engine: could not start: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  }
}

/**
 * @file Main's side of the engine IPC: numbers each request, matches the host's replies to
 * them, gives up on a request after a timeout, and fails everything in flight when the host
 * process dies. Knows nothing of Electron: main attaches a `send` function (the utility
 * process's `postMessage`) and feeds every message from the host to `receive`.
 */
import type { ApiMethod, KithEvents } from '../native/api/types.ts';
import type { HostMessage, HostRequest } from '../native/api/engine-host.ts';
import type { MediaFile } from '../native/common/path-inside.ts';

/** An engine call that failed; `user` marks a bad request (bad arguments, unknown id). */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly user: boolean,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

/** Calls that may load models or walk the whole library get longer than the rest. */
const SLOW_METHODS: ReadonlySet<string> = new Set(['cluster', 'searchByFace', 'searchByPhoto', 'startIndex', 'indexNow', 'addFace', 'exportXmp', 'exportFaces', 'mergeQuestions']);
export const DEFAULT_TIMEOUT_MS = 60_000;
export const SLOW_TIMEOUT_MS = 15 * 60_000;

export function timeoutFor(method: string): number {
  return SLOW_METHODS.has(method) ? SLOW_TIMEOUT_MS : DEFAULT_TIMEOUT_MS;
}

export type EventListener = (event: keyof KithEvents, data: KithEvents[keyof KithEvents]) => void;

export interface EngineClientOptions {
  /** Milliseconds before a request is abandoned; per method for calls. */
  timeoutMs?: (what: string) => number;
  onEvent?: EventListener;
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type Outgoing = WithoutId<HostRequest>;

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class EngineClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private send: ((msg: HostRequest) => void) | null = null;
  private ready = false;
  /** Requests written before the host said `ready`. */
  private queue: HostRequest[] = [];

  constructor(private readonly opts: EngineClientOptions = {}) {}

  /** A new host process: requests go to `send`, held back until it reports `ready`. */
  attach(send: (msg: HostRequest) => void): void {
    this.send = send;
    this.ready = false;
  }

  /** Every message from the host process. Unknown or late replies are ignored. */
  receive(raw: unknown): void {
    if (typeof raw !== 'object' || raw === null) return;
    const msg = raw as HostMessage;
    switch (msg.type) {
      case 'ready': {
        this.ready = true;
        const queued = this.queue;
        this.queue = [];
        for (const m of queued) this.send?.(m);
        return;
      }
      case 'event':
        this.opts.onEvent?.(msg.event, msg.data);
        return;
      case 'result':
      case 'error': {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.type === 'result') p.resolve(msg.result);
        else p.reject(new EngineError(msg.message, msg.user));
      }
    }
  }

  /** The host exited or crashed: every request in flight fails, later ones wait for `attach`. */
  hostExited(reason: string): void {
    this.send = null;
    this.ready = false;
    this.queue = [];
    const err = new EngineError(`the Kith engine stopped (${reason}); try again`, false);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err);
    }
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private request(msg: Outgoing, timeoutMs: number, what: string): Promise<unknown> {
    if (!this.send) return Promise.reject(new EngineError('the Kith engine is not running', false));
    const id = this.nextId++;
    const full = { ...msg, id } as HostRequest;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new EngineError(`the Kith engine did not answer ${what} within ${Math.round(timeoutMs / 1000)} s`, false));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      if (this.ready) this.send!(full);
      else this.queue.push(full);
    });
  }

  call(method: ApiMethod, args: unknown[]): Promise<unknown> {
    return this.request({ type: 'call', method, args }, this.opts.timeoutMs?.(method) ?? timeoutFor(method), method);
  }

  resource(kind: 'thumb' | 'photo', id: number): Promise<MediaFile | null> {
    return this.request({ type: 'resource', kind, faceOrPhotoId: id }, this.opts.timeoutMs?.('resource') ?? DEFAULT_TIMEOUT_MS, `${kind} ${id}`) as Promise<MediaFile | null>;
  }

  /** Ask the host to stop indexing, close the library and exit. */
  shutdown(timeoutMs = 10_000): Promise<unknown> {
    return this.request({ type: 'shutdown' }, timeoutMs, 'shutdown');
  }
}

/**
 * @file The one typed API client every screen uses. It is built from the engine's own API
 * definition (native/api/types.ts) over whichever transport the page runs on, so a method,
 * its arguments and its result are checked at compile time and no component fetches by hand.
 */
import { API_METHODS } from '../../../../native/api/methods.ts';
import type { ApiMethod, KithApiSpec, KithEvents } from '../../../../native/api/types.ts';
import { httpTransport } from './http-transport.ts';
import { ipcTransport } from './ipc-transport.ts';
import type { Transport } from './transport.ts';

export type * from '../../../../native/api/types.ts';
export { ApiError } from './transport.ts';

export type ApiClient = {
  [M in ApiMethod]: (...args: Parameters<KithApiSpec[M]>) => Promise<ReturnType<KithApiSpec[M]>>;
};

export interface Kith {
  api: ApiClient;
  /** Listen to one engine event; returns the unsubscribe function. */
  on<E extends keyof KithEvents>(event: E, listener: (data: KithEvents[E]) => void): () => void;
  thumbUrl(faceId: number): string;
  photoUrl(photoId: number): string;
  /** Native folder picker, only inside the desktop app. */
  pickFolder: (() => Promise<string | null>) | null;
  /** Path of a dropped folder, only inside the desktop app. */
  pathForFile: ((file: File) => string) | null;
}

export function createKith(transport: Transport, extras: Pick<Kith, 'pickFolder' | 'pathForFile'> = { pickFolder: null, pathForFile: null }): Kith {
  const api = Object.fromEntries(API_METHODS.map((m) => [m, (...args: unknown[]) => transport.call(m, args)])) as ApiClient;
  const listeners = new Map<keyof KithEvents, Set<(data: never) => void>>();
  let unsubscribe: (() => void) | null = null;
  return {
    api,
    on(event, listener) {
      unsubscribe ??= transport.subscribe((name, data) => listeners.get(name)?.forEach((l) => l(data as never)));
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener);
      return () => set.delete(listener);
    },
    thumbUrl: (faceId) => transport.mediaUrl('thumb', faceId),
    photoUrl: (photoId) => transport.mediaUrl('photo', photoId),
    ...extras,
  };
}

function fromWindow(): Kith {
  if (typeof window !== 'undefined' && 'kith' in window && window.kith) {
    const bridge = window.kith;
    return createKith(ipcTransport(bridge), {
      pickFolder: () => bridge.pickFolder(),
      pathForFile: (f) => bridge.pathForFile(f),
    });
  }
  return createKith(httpTransport());
}

/** The client for this page: Electron IPC when the preload bridge is there, else loopback HTTP. */
export const kith: Kith = fromWindow();
export const api: ApiClient = kith.api;

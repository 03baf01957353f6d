/**
 * @file What a transport (loopback HTTP in serve.ts, Electron IPC in engine-host.ts) needs from
 * the engine: call a method by name, follow its events, open a photo or thumbnail, and tell a
 * bad request from a crash. Both transports, and tests, speak only this.
 */
import type { MediaFile } from '../common/path-inside.ts';
import type { ApiMethod, KithEvents } from './types.ts';

export interface ApiHandler {
  call(method: ApiMethod, args: unknown[]): Promise<unknown>;
  /** Every engine event, until the returned function is called. */
  subscribe(listener: (event: keyof KithEvents, data: KithEvents[keyof KithEvents]) => void): () => void;
  /** File behind a thumbnail or photo URL, only for faces/photos in the library; null when none. */
  resource(kind: 'thumb' | 'photo', id: number): Promise<MediaFile | null>;
  /** True for errors caused by the request (bad arguments, unknown ids): answered 400, not 500. */
  isUserError(err: unknown): boolean;
}

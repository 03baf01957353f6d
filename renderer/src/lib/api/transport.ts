/**
 * @file The seam between the UI and the engine: one small interface that both the loopback
 * HTTP transport (browser, `kith serve`) and the Electron IPC bridge implement, so no screen
 * knows which one it is running on.
 */
import type { KithBridge } from '../../../../native/api/bridge.ts';
import type { ApiMethod, KithEvents } from '../../../../native/api/types.ts';

export type EventName = keyof KithEvents;

export interface Transport {
  call(method: ApiMethod, args: unknown[]): Promise<unknown>;
  subscribe(listener: (event: EventName, data: unknown) => void): () => void;
  /** URL an <img> can load: a face thumbnail or a whole photo. */
  mediaUrl(kind: 'thumb' | 'photo', id: number): string;
}

export type { KithBridge };

declare global {
  interface Window {
    kith?: KithBridge;
  }
}

/** An error the engine answered with (bad arguments, unknown ids, a refused operation). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

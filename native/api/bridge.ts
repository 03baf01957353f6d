/**
 * @file What the desktop app's preload exposes to the renderer as `window.kith`
 * (electron/preload.ts builds it; renderer/src/lib/api reads it). Types only, so both sides
 * import the one definition: the preload bundle and the renderer stay free of engine code.
 */
import type { ApiMethod, KithEvents } from './types.ts';

export type KithListener = (event: keyof KithEvents, data: KithEvents[keyof KithEvents]) => void;

export type MediaKind = 'thumb' | 'photo';

export interface KithBridge {
  call(method: ApiMethod, args?: unknown[]): Promise<unknown>;
  subscribe(listener: KithListener): () => void;
  /** URL an <img> can load: a face thumbnail or a whole photo (`kith://`, served by main). */
  mediaUrl(kind: MediaKind, id: number): string;
  /** Native folder dialog; null when the user cancels. */
  pickFolder(): Promise<string | null>;
  /** Filesystem path of a dropped File (Electron's webUtils.getPathForFile); '' when unknown. */
  pathForFile(file: unknown): string;
}

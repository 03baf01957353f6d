/**
 * @file The app's URLs on the `kith:` scheme, shared by main, preload and the protocol
 * handler. Dependency-free: the sandboxed preload bundles it.
 */
export const SCHEME = 'kith';
/** The renderer's origin; the window loads `APP_URL`. */
export const APP_ORIGIN = `${SCHEME}://app`;
export const APP_URL = `${APP_ORIGIN}/index.html`;

import type { MediaKind } from '../native/api/bridge.ts';

export type { MediaKind };

/** `kith://thumb/<faceId>` or `kith://photo/<photoId>`. */
export function mediaUrl(kind: MediaKind, id: number): string {
  if (kind !== 'thumb' && kind !== 'photo') throw new Error('mediaUrl kind must be "thumb" or "photo"');
  if (!Number.isSafeInteger(id) || id < 0) throw new Error('mediaUrl id must be a non-negative integer');
  return `${SCHEME}://${kind}/${id}`;
}

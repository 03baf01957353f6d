/**
 * @file The `kith://` protocol, without Electron: `kith://app/...` serves the built renderer
 * (and nothing outside its folder), `kith://thumb/<faceId>` and `kith://photo/<photoId>` serve
 * files the engine vouches for (faces and photos of this library, inside its folder). Every
 * response carries the app's CSP. Main registers `createProtocolHandler(...)` with
 * `protocol.handle('kith', ...)`; tests call it with plain `Request`s.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, isAbsolute, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { openInside, type MediaFile } from '../native/common/path-inside.ts';
import { SCHEME } from './urls.ts';


/**
 * The one Content-Security-Policy for the window: scripts only from the app's own files (no
 * eval, no inline script), images also from `kith:` (thumbnails and photos live on the
 * `kith://thumb` and `kith://photo` hosts) and `data:`/`blob:`. Inline styles are allowed
 * because Svelte transitions insert `<style>` elements; nothing else is loosened.
 */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  `img-src 'self' ${SCHEME}: data: blob:`,
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

/**
 * The file inside `root` that an app URL's pathname names, or null when it would leave `root`.
 * Refuses `..` segments (also percent-encoded), absolute paths (`//etc/passwd`, `/C:/...`),
 * backslashes and NUL bytes; `/` means index.html. Lexical only: `root` is our own build output.
 */
export function resolveAppPath(root: string, pathname: string): string | null {
  let rel: string;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    return null; // malformed percent-encoding
  }
  if (rel.includes('\0') || rel.includes('\\')) return null;
  rel = rel.startsWith('/') ? rel.slice(1) : rel;
  if (rel === '') rel = 'index.html';
  if (isAbsolute(rel) || /^[A-Za-z]:/.test(rel) || rel.startsWith('/')) return null;
  if (rel.split('/').some((seg) => seg === '..')) return null;
  const base = resolve(root);
  const path = resolve(base, rel);
  return path.startsWith(base.endsWith(sep) ? base : base + sep) ? path : null;
}

/** What a request to `kith://` asks for, or null for anything the app does not serve. */
export type KithTarget = { kind: 'app'; pathname: string } | { kind: 'thumb' | 'photo'; id: number };

export function parseKithUrl(url: string): KithTarget | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== `${SCHEME}:`) return null;
  if (u.host === 'app') return { kind: 'app', pathname: u.pathname };
  if (u.host === 'thumb' || u.host === 'photo') {
    const m = /^\/(\d{1,15})$/.exec(u.pathname);
    return m ? { kind: u.host, id: Number(m[1]) } : null;
  }
  return null;
}

export type ResourceLookup = (kind: 'thumb' | 'photo', id: number) => Promise<MediaFile | null>;

export interface ProtocolOptions {
  /** The built renderer (dist/renderer). */
  rendererDir: string;
  /** The engine's answer for a face thumbnail or photo (null: not in this library). */
  resource: ResourceLookup;
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });
}

/** A streamed file response with the security headers; 404 when the file is not there. */
export async function fileResponse(path: string, type: string, cache: string): Promise<Response> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) return text(404, 'not found');
    size = st.size;
  } catch {
    return text(404, 'not found');
  }
  const body = Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>;
  return new Response(body, {
    status: 200,
    headers: { ...SECURITY_HEADERS, 'content-type': type, 'content-length': String(size), 'cache-control': cache },
  });
}

/**
 * A library file, streamed only if it is still inside its folder at the moment it is opened
 * (a symlink swapped in after the engine checked it is refused); 404 otherwise.
 */
export async function mediaResponse(file: MediaFile, method: string): Promise<Response> {
  const opened = await openInside(file.root, file.path);
  if (!opened) return text(404, 'not in the library');
  const headers = { ...SECURITY_HEADERS, 'content-type': file.type, 'content-length': String(opened.size), 'cache-control': 'private, max-age=3600' };
  if (method === 'HEAD') {
    await opened.handle.close();
    return new Response(null, { status: 200, headers });
  }
  const body = Readable.toWeb(opened.handle.createReadStream()) as unknown as ReadableStream<Uint8Array>;
  return new Response(body, { status: 200, headers });
}

/** The `protocol.handle('kith', ...)` handler. */
export function createProtocolHandler(opts: ProtocolOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'method not allowed');
    const target = parseKithUrl(request.url);
    if (!target) return text(404, 'not found');
    if (target.kind === 'app') {
      const path = resolveAppPath(opts.rendererDir, target.pathname);
      if (!path) return text(403, 'outside the app');
      const isIndex = path.endsWith(`${sep}index.html`);
      return fileResponse(path, TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream', isIndex ? 'no-store' : 'no-cache');
    }
    try {
      const file = await opts.resource(target.kind, target.id);
      if (!file) return text(404, 'not in the library');
      return await mediaResponse(file, request.method);
    } catch {
      // The engine's message may name paths; the window needs only the status.
      return text(500, 'the engine could not serve this file');
    }
  };
}

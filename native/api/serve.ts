/**
 * @file `kith serve`: the loopback HTTP transport for the one API, so the same UI runs in a
 * browser (and is tested there). It binds 127.0.0.1 only and answers only requests whose Host
 * names it (no DNS rebinding). The app's own files are public; the API, the event stream,
 * photos and thumbnails need the library's token. The token never travels in a cookie: cookies
 * are shared by every port of 127.0.0.1, so any other local server would receive it.
 *
 * Where the token goes: API calls (POST) carry it in the `x-kith-token` header, which no other
 * site can set without a CORS preflight this server never grants, and a POST from a foreign
 * Origin is refused outright. `EventSource` and `<img src>` cannot set headers, so the event
 * stream, photos and thumbnails (GET only, changing nothing) also take it as `?token=` in a
 * same-origin URL: it is the secret the user opened the page with, the page sends no Referer,
 * and those URLs never reach the address bar or another host.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { API_METHODS } from './methods.ts';
import type { ApiMethod, KithEvents } from './types.ts';
import { openInside, type MediaFile } from '../common/path-inside.ts';
import { newToken } from './serve-token.ts';
import type { ApiHandler } from './handler.ts';

export interface ServeOptions {
  port?: number;
  /** Built renderer (index.html and assets); omitted: API only. */
  staticDir?: string;
  /** The library's token (serve-token.ts); omitted: a new one for this server only. */
  token?: string;
  /** Where unexpected failures are reported (their details never go to the client). */
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

const CSP = "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** Largest API request body: a photo for searchByPhoto, base64-encoded. */
export const MAX_BODY = 64 * 1024 * 1024;
/** The page a browser is sent to when it has no token or an old one. */
export const NEEDS_LINK_PATH = '/needs-link';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Answering before the request body was read: close the connection, or the client may reuse a socket Node is about to drop. */
function unreadBody(res: ServerResponse): Record<string, string> {
  return res.req.complete ? {} : { connection: 'close' };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...unreadBody(res), ...headers });
  res.end(text);
}

const NEEDS_LINK_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Kith: open the link from the terminal</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1.5rem}code{font-size:.95em}</style>
</head>
<body>
<h1>Open Kith from its link</h1>
<p>This address has no access token, or an old one.
Open the link that <code>kith serve</code> printed in the terminal
(<code>http://127.0.0.1:…/?token=…</code>); it stays the same each time Kith starts.</p>
<p>After <code>kith serve --new-token</code>, older links and bookmarks no longer work.</p>
</body>
</html>
`;

/** No or a wrong token: a browser opening a page gets a short explanation, anything else JSON. */
function refuse(req: IncomingMessage, res: ServerResponse): void {
  const navigation = (req.method === 'GET' || req.method === 'HEAD') && (req.headers.accept ?? '').includes('text/html');
  if (!navigation) return send(res, 401, { error: 'missing or wrong token: open the link `kith serve` printed' });
  res.writeHead(401, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...unreadBody(res) });
  res.end(req.method === 'HEAD' ? undefined : NEEDS_LINK_PAGE);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function headerToken(req: IncomingMessage): string | null {
  const header = req.headers['x-kith-token'];
  return typeof header === 'string' ? header : null;
}

async function readBody(req: IncomingMessage): Promise<string> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY / 1024 / 1024} MiB`);
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY / 1024 / 1024} MiB`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Send the file at `path` if it is still inside `root` when opened (see path-inside.ts); 404 otherwise. */
async function sendFile(req: IncomingMessage, res: ServerResponse, root: string, path: string, type: string, cache: string): Promise<void> {
  const file = await openInside(root, path);
  if (!file) return send(res, 404, { error: 'not found' });
  res.writeHead(200, { 'content-type': type, 'content-length': file.size, 'cache-control': cache });
  if (req.method === 'HEAD') {
    await file.handle.close();
    res.end();
    return;
  }
  // A file that fails mid-read ends this response, not the server.
  file.handle
    .createReadStream()
    .on('error', () => res.destroy())
    .pipe(res);
}

export async function startServer(api: ApiHandler, opts: ServeOptions = {}): Promise<RunningServer> {
  const token = opts.token ?? newToken();
  const log = opts.log ?? ((line: string) => console.error(line));
  let port = 0;
  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = () => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!allowedHosts().has(req.headers.host ?? '')) return send(res, 403, { error: 'wrong Host header' });
    res.setHeader('content-security-policy', CSP);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    const method = req.method ?? 'GET';
    const readOnly = method === 'GET' || method === 'HEAD';
    // Anything that is not a plain read must come from this page (or from no page at all).
    const origin = req.headers.origin;
    if (!readOnly && origin !== undefined && !allowedOrigins().has(origin)) return send(res, 403, { error: 'cross-origin request refused' });
    const given = headerToken(req) ?? url.searchParams.get('token');
    const authorised = given !== null && sameSecret(given, token);

    const call = /^\/api\/([A-Za-z]+)$/.exec(url.pathname);
    if (call && call[1] !== 'events') {
      // The header, not the query: a page on another origin cannot set it.
      const fromHeader = headerToken(req);
      if (fromHeader === null || !sameSecret(fromHeader, token)) return refuse(req, res);
      if (method !== 'POST') return send(res, 405, { error: 'use POST' }, { allow: 'POST' });
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return send(res, 415, { error: 'send JSON' });
      const name = call[1] as ApiMethod;
      if (!API_METHODS.includes(name)) return send(res, 404, { error: `no API method "${name}"` });
      let args: unknown;
      const body = await readBody(req);
      try {
        args = (JSON.parse(body || '{}') as { args?: unknown }).args ?? [];
      } catch {
        return send(res, 400, { error: 'body is not valid JSON' });
      }
      if (!Array.isArray(args)) return send(res, 400, { error: '"args" must be an array' });
      try {
        return send(res, 200, { result: (await api.call(name, args)) ?? null });
      } catch (err) {
        if (api.isUserError(err)) return send(res, 400, { error: (err as Error).message });
        throw err;
      }
    }
    if (url.pathname === '/api/events') {
      if (!authorised) return refuse(req, res);
      if (method !== 'GET') return send(res, 405, { error: 'use GET' }, { allow: 'GET' });
      return streamEvents(api, req, res);
    }
    const media = /^\/(thumb|photo)\/(\d{1,15})$/.exec(url.pathname);
    if (media) {
      if (!authorised) return refuse(req, res);
      if (!readOnly) return send(res, 405, { error: 'use GET' }, { allow: 'GET, HEAD' });
      const file = await api.resource(media[1] as 'thumb' | 'photo', Number(media[2]));
      if (!file) return send(res, 404, { error: 'not in the library' });
      return await sendFile(req, res, file.root, file.path, file.type, 'private, max-age=3600');
    }
    if (url.pathname === NEEDS_LINK_PATH) {
      if (!readOnly) return send(res, 405, { error: 'use GET' }, { allow: 'GET, HEAD' });
      return refuse(req, res);
    }
    if (opts.staticDir) {
      if (!readOnly) return send(res, 405, { error: 'the app\'s files are read with GET' }, { allow: 'GET, HEAD' });
      // The app is public, but a link with a wrong token is an old one: say so instead of an app that cannot load.
      if (given !== null && !authorised) return refuse(req, res);
      return await serveStatic(req, res, opts.staticDir, url);
    }
    return send(res, 404, { error: 'not found' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) {
        // Unread body left: answer now and close, instead of reading the rest.
        if (!res.headersSent) send(res, err.status, { error: err.message });
        return;
      }
      // The details (paths included) go to the terminal, never to the client.
      log(`kith serve: ${req.method} ${req.url?.replace(/token=[^&]*/, 'token=…')}: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) send(res, 500, { error: 'internal error (details in the terminal running kith serve)' });
      else res.destroy();
    });
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

async function serveStatic(req: IncomingMessage, res: ServerResponse, root: string, url: URL): Promise<void> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    return send(res, 400, { error: 'malformed path' });
  }
  if (decoded.includes('\0')) return send(res, 400, { error: 'malformed path' });
  const rel = normalize(decoded).replace(/^([/\\])+/, '');
  const isIndex = rel === '' || rel === 'index.html';
  const path = join(root, rel || 'index.html');
  await sendFile(req, res, root, path, TYPES[extname(path)] ?? 'application/octet-stream', isIndex ? 'no-store' : 'private, max-age=31536000, immutable');
}

function streamEvents(api: ApiHandler, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write(': connected\n\n');
  const unsubscribe = api.subscribe((event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
  const ping = setInterval(() => res.write(': ping\n\n'), 15000);
  req.on('close', () => {
    clearInterval(ping);
    unsubscribe();
  });
}

/**
 * @file `kith serve`: the loopback HTTP transport for the one API, so the same UI runs in a
 * browser (and is tested there). It binds 127.0.0.1 only; every request must carry the
 * per-launch token (header, query or the cookie the first visit sets) and a Host naming this
 * server, which stops other sites and DNS-rebinding pages from reaching the library.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { API_METHODS, type ApiMethod, type KithEvents } from './api-types.ts';

export interface ApiHandler {
  call(method: ApiMethod, args: unknown[]): Promise<unknown>;
  /** Every engine event, until the returned function is called. */
  subscribe(listener: (event: keyof KithEvents, data: KithEvents[keyof KithEvents]) => void): () => void;
  /** File behind a thumbnail or photo URL, only for faces/photos in the library; null when none. */
  resource(kind: 'thumb' | 'photo', id: number): Promise<{ path: string; type: string } | null>;
  /** True for errors caused by the request (bad arguments, unknown ids): answered 400, not 500. */
  isUserError(err: unknown): boolean;
}

export interface ServeOptions {
  port?: number;
  /** Built renderer (index.html and assets); omitted: API only. */
  staticDir?: string;
  token?: string;
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

const CSP = "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'";
const MAX_BODY = 64 * 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function tokenOf(req: IncomingMessage, url: URL): string | null {
  const header = req.headers['x-kith-token'];
  if (typeof header === 'string') return header;
  const query = url.searchParams.get('token');
  if (query) return query;
  const cookie = /(?:^|;\s*)kith_token=([^;]+)/.exec(req.headers.cookie ?? '');
  return cookie?.[1] ?? null;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function sendFile(res: ServerResponse, path: string, type: string, cache: string): Promise<void> {
  const st = await stat(path);
  if (!st.isFile()) throw new Error('not a file');
  res.writeHead(200, { 'content-type': type, 'content-length': st.size, 'cache-control': cache });
  // A file that vanishes mid-read ends this response, not the server.
  createReadStream(path)
    .on('error', () => res.destroy())
    .pipe(res);
}

export async function startServer(api: ApiHandler, opts: ServeOptions = {}): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  let port = 0;
  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (!allowedHosts().has(req.headers.host ?? '')) return send(res, 403, { error: 'wrong Host header' });
      const given = tokenOf(req, url);
      if (!given || !sameSecret(given, token)) return send(res, 401, { error: 'missing or wrong token' });
      res.setHeader('content-security-policy', CSP);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');

      if (url.pathname === '/api/events') return streamEvents(api, req, res);
      const call = /^\/api\/([A-Za-z]+)$/.exec(url.pathname);
      if (call) {
        if (req.method !== 'POST') return send(res, 405, { error: 'use POST' });
        if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return send(res, 415, { error: 'send JSON' });
        const method = call[1] as ApiMethod;
        if (!API_METHODS.includes(method)) return send(res, 404, { error: `no API method "${method}"` });
        let args: unknown;
        try {
          args = (JSON.parse((await readBody(req)) || '{}') as { args?: unknown }).args ?? [];
        } catch {
          return send(res, 400, { error: 'body is not valid JSON' });
        }
        if (!Array.isArray(args)) return send(res, 400, { error: '"args" must be an array' });
        try {
          return send(res, 200, { result: (await api.call(method, args)) ?? null });
        } catch (err) {
          if (api.isUserError(err)) return send(res, 400, { error: (err as Error).message });
          throw err;
        }
      }
      const media = /^\/(thumb|photo)\/(\d+)$/.exec(url.pathname);
      if (media) {
        const file = await api.resource(media[1] as 'thumb' | 'photo', Number(media[2]));
        if (!file) return send(res, 404, { error: 'not in the library' });
        return await sendFile(res, file.path, file.type, 'private, max-age=3600');
      }
      // Awaited so that a failure lands in the catch below instead of crashing the process.
      if (opts.staticDir && req.method === 'GET') return await serveStatic(opts.staticDir, url, given, res);
      return send(res, 404, { error: 'not found' });
    } catch (err) {
      if (!res.headersSent) send(res, 500, { error: (err as Error).message });
      else res.destroy();
    }
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

async function serveStatic(root: string, url: URL, token: string, res: ServerResponse): Promise<void> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    return send(res, 400, { error: 'malformed path' });
  }
  if (decoded.includes('\0')) return send(res, 400, { error: 'malformed path' });
  const rel = normalize(decoded).replace(/^([/\\])+/, '');
  const path = join(root, rel || 'index.html');
  if (path !== root && !path.startsWith(root.endsWith(sep) ? root : root + sep)) return send(res, 403, { error: 'outside the app' });
  const isIndex = rel === '' || rel === 'index.html';
  if (isIndex) {
    // Assets and <img> requests cannot carry a header: the cookie carries the token for them.
    res.setHeader('set-cookie', `kith_token=${token}; HttpOnly; SameSite=Strict; Path=/`);
  }
  try {
    await sendFile(res, path, TYPES[extname(path)] ?? 'application/octet-stream', isIndex ? 'no-store' : 'private, max-age=31536000, immutable');
  } catch {
    send(res, 404, { error: 'not found' });
  }
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

/**
 * `kith serve` and the `kith://` protocol against a real library (real photos, real SQLite,
 * real thumbnails) that someone with write access to the photo folder tries to abuse: symlinks
 * out of it, before and after indexing; a file swapped while it is being served; foreign
 * Origins; huge bodies. And the token: never a cookie (a spy server on another port of
 * 127.0.0.1 sees nothing in a real Chromium), stable per library, rotated on request, and a
 * browser without it gets a page that says what to open.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { createProtocolHandler } from '../electron/protocol.ts';
import { KithEngine } from '../native/api/api.ts';
import { MAX_FILE_BYTES } from '../native/pipeline/decode.ts';
import { indexFolder } from '../native/indexing/indexer.ts';
import type { ApiHandler } from '../native/api/handler.ts';
import { NEEDS_LINK_PATH, startServer, type RunningServer } from '../native/api/serve.ts';
import { libraryToken, tokenPathFor } from '../native/api/serve-token.ts';
import { Store } from '../native/store/index.ts';
import { faceThumbPath } from '../native/pipeline/thumbs.ts';
import { NO_BROWSER, launch } from './browser.ts';
import { FACES, REPO, copyFaces, startCli, tempDir } from './helpers.ts';

const EMBEDDER = 'sirius';

interface Raw {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
}

/** A raw HTTP request (any method, Host, Origin, body), answered with status, headers and body. */
function raw(port: number, path: string, opts: { method?: string; headers?: Record<string, string | number>; body?: string | Buffer } = {}): Promise<Raw> {
  return new Promise((done, fail) => {
    let answered = false;
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: { host: `127.0.0.1:${port}`, ...opts.headers } }, (res) => {
      answered = true;
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => done({ status: res.statusCode!, body, headers: res.headers }));
      res.on('error', () => done({ status: res.statusCode!, body, headers: res.headers }));
    });
    // A server that answers before reading the whole body may close while it is still being sent.
    req.on('error', (err) => (answered ? undefined : fail(err)));
    req.end(opts.body);
  });
}

describe('kith serve and kith:// on a library someone tries to abuse', () => {
  const dir = tempDir('kith-serve-');
  const library = join(dir, 'Photos');
  const outside = join(dir, 'Outside');
  const db = join(dir, 'library.db');
  const renderer = join(REPO, 'dist', 'renderer');
  let store: Store;
  let engine: KithEngine;
  let server: RunningServer;
  /** Photo id by file name (relative to the library). */
  const ids = new Map<string, number>();
  let groupFace = 0;
  const h = () => ({ 'x-kith-token': server.token });

  before(async () => {
    copyFaces(library, ['groups/faceapi/bbt1.jpg', 'groups/faceapi/bbt2.jpg', 'portraits/faceapi-bbt/leonard/leonard1.png']);
    // A PNG under a .jpg name, a photo to be swapped for a symlink later, one to vanish, one in a folder to be swapped.
    copyFileSync(join(FACES, 'portraits/faceapi-bbt/penny/penny1.png'), join(library, 'disguised.jpg'));
    copyFileSync(join(FACES, 'groups/faceapi/bbt3.jpg'), join(library, 'swapped.jpg'));
    copyFileSync(join(FACES, 'groups/faceapi/bbt4.jpg'), join(library, 'vanishing.jpg'));
    mkdirSync(join(library, 'album'));
    copyFileSync(join(FACES, 'groups/faceapi/bbt5.jpg'), join(library, 'album', 'party.jpg'));
    // Outside the library: a private photo and a stand-in for /etc/passwd, both reachable by symlink.
    mkdirSync(join(outside, 'album'), { recursive: true });
    copyFileSync(join(FACES, 'portraits/faceapi-bbt/amy/amy1.png'), join(outside, 'private.png'));
    copyFileSync(join(FACES, 'portraits/faceapi-bbt/amy/amy2.png'), join(outside, 'album', 'party.jpg'));
    writeFileSync(join(outside, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
    symlinkSync(join(outside, 'private.png'), join(library, 'linked-out.jpg'));
    symlinkSync(join(outside, 'passwd'), join(library, 'passwd.jpg'));

    store = new Store(db);
    await indexFolder(store, library, { device: 'cpu', embedder: EMBEDDER });
    engine = new KithEngine(store, { device: 'cpu', embedder: EMBEDDER });
    await engine.client().cluster(false);
    for (const p of store.photos.list()) ids.set(p.path.slice(library.length + 1), p.id);
    groupFace = store.views.photoFaces(ids.get('groups/faceapi/bbt1.jpg')!)[0]!.id;
    server = await startServer(engine, { staticDir: renderer, log: () => {} });
  });

  after(async () => {
    await server?.close();
    store?.close();
  });

  describe('photos and thumbnails', () => {
    it('serves a photo of the library with the type the decoder found, not the one its name says', async () => {
      const jpeg = await fetch(`http://127.0.0.1:${server.port}/photo/${ids.get('groups/faceapi/bbt1.jpg')}`, { headers: h() });
      assert.equal(jpeg.status, 200);
      assert.equal(jpeg.headers.get('content-type'), 'image/jpeg');
      assert.deepEqual(Buffer.from(await jpeg.arrayBuffer()), readFileSync(join(library, 'groups/faceapi/bbt1.jpg')));
      const png = await fetch(`http://127.0.0.1:${server.port}/photo/${ids.get('disguised.jpg')}`, { headers: h() });
      assert.equal(png.status, 200);
      assert.equal(png.headers.get('content-type'), 'image/png');
      const thumb = await fetch(`http://127.0.0.1:${server.port}/thumb/${groupFace}`, { headers: h() });
      assert.equal(thumb.status, 200);
      assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
      assert.equal((await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()).format, 'jpeg');
    });

    it('never serves a file outside the library through a symlink, indexed before or swapped in after', async () => {
      // Symlinks leading out of the library are never indexed: the scan records them as errors.
      for (const name of ['linked-out.jpg', 'passwd.jpg']) {
        const row = store.photos.getById(ids.get(name)!);
        assert.equal(row?.status, 'error', name);
        assert.match(row?.error ?? '', /links to a file outside the library folder/, name);
      }
      const swapped = ids.get('swapped.jpg')!;
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/photo/${swapped}`, { headers: h() })).status, 200, 'served while genuine');
      unlinkSync(join(library, 'swapped.jpg'));
      symlinkSync(join(outside, 'passwd'), join(library, 'swapped.jpg'));
      // A folder of the library swapped for a symlink to an outside folder with the same names.
      renameSync(join(library, 'album'), join(dir, 'album-moved'));
      symlinkSync(join(outside, 'album'), join(library, 'album'));
      for (const name of ['linked-out.jpg', 'passwd.jpg', 'swapped.jpg', 'album/party.jpg']) {
        const r = await raw(server.port, `/photo/${ids.get(name)}`, { headers: h() });
        assert.equal(r.status, 404, name);
        assert.doesNotMatch(r.body, /root:|PNG|\/Outside|\/Photos/, name);
      }
      // A thumbnail cut again from a swapped photo would leak it too.
      const partyFace = store.views.photoFaces(ids.get('album/party.jpg')!)[0]!.id;
      rmSync(faceThumbPath(store.path, partyFace));
      assert.equal((await raw(server.port, `/thumb/${partyFace}`, { headers: h() })).status, 404);
      assert.ok(!existsSync(faceThumbPath(store.path, partyFace)), 'and no thumbnail was cut from the outside file');
    });

    it('refuses a file swapped for a symlink between the engine\'s check and the read (HTTP and kith://)', async () => {
      const id = ids.get('groups/faceapi/bbt2.jpg')!;
      const path = join(library, 'groups/faceapi/bbt2.jpg');
      const original = join(dir, 'bbt2-original.jpg');
      // Between the lookup and the open, the photo becomes a symlink to the outside file.
      const racing: ApiHandler['resource'] = async (kind, n) => {
        const file = await engine.resource(kind, n);
        renameSync(path, original);
        symlinkSync(join(outside, 'passwd'), path);
        return file;
      };
      const restore = () => {
        unlinkSync(path);
        renameSync(original, path);
      };
      const racy = await startServer({ ...bind(engine), resource: racing }, { log: () => {} });
      try {
        const r = await raw(racy.port, `/photo/${id}`, { headers: { 'x-kith-token': racy.token } });
        assert.equal(r.status, 404);
        assert.doesNotMatch(r.body, /root:/);
      } finally {
        await racy.close();
        restore();
      }
      const handler = createProtocolHandler({ rendererDir: renderer, resource: racing });
      try {
        const res = await handler(new Request(`kith://photo/${id}`));
        assert.equal(res.status, 404);
        assert.doesNotMatch(await res.text(), /root:/);
      } finally {
        restore();
      }
    });

    it('kith:// serves the library\'s photos and thumbnails, and no symlink out of it', async () => {
      const handler = createProtocolHandler({ rendererDir: renderer, resource: (kind, id) => engine.resource(kind, id) });
      const ok = await handler(new Request(`kith://photo/${ids.get('disguised.jpg')}`));
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('content-type'), 'image/png');
      assert.deepEqual(Buffer.from(await ok.arrayBuffer()), readFileSync(join(library, 'disguised.jpg')));
      assert.equal((await handler(new Request(`kith://thumb/${groupFace}`))).status, 200);
      const head = await handler(new Request(`kith://photo/${ids.get('disguised.jpg')}`, { method: 'HEAD' }));
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(statSync(join(library, 'disguised.jpg')).size));
      for (const name of ['linked-out.jpg', 'passwd.jpg']) {
        const res = await handler(new Request(`kith://photo/${ids.get(name)}`));
        assert.equal(res.status, 404, name);
        assert.doesNotMatch(await res.text(), /root:|PNG/, name);
      }
    });

    it('serves only indexed photos of a format it knows (not an error row, not an unknown format)', async () => {
      const broken = join(library, 'broken.jpg');
      writeFileSync(broken, 'not a photo');
      const errorRow = store.photos.upsert(broken, { size: 11, mtimeMs: 0, hash: null, status: 'error', error: 'not a readable image' });
      const svg = join(library, 'drawing.jpg');
      writeFileSync(svg, '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
      const svgRow = store.photos.upsert(svg, { size: 1, mtimeMs: 0, hash: null, status: 'done', format: 'svg' });
      const pendingRow = store.photos.upsert(join(library, 'disguised.jpg'), { ...store.photos.get(join(library, 'disguised.jpg'))!, status: 'pending' });
      try {
        for (const id of [errorRow, svgRow, pendingRow]) assert.equal((await raw(server.port, `/photo/${id}`, { headers: h() })).status, 404, String(id));
      } finally {
        store.photos.upsert(join(library, 'disguised.jpg'), { ...store.photos.get(join(library, 'disguised.jpg'))!, status: 'done' });
      }
    });

    it('answers 404 for a thumbnail whose photo is gone, without naming any path', async () => {
      const id = ids.get('vanishing.jpg')!;
      const face = store.views.photoFaces(id)[0]!.id;
      rmSync(join(library, 'vanishing.jpg'));
      rmSync(faceThumbPath(store.path, face));
      for (const path of [`/thumb/${face}`, `/photo/${id}`]) {
        const r = await raw(server.port, path, { headers: h() });
        assert.equal(r.status, 404, path);
        assert.ok(!r.body.includes(dir) && !r.body.includes('/tmp'), r.body);
      }
    });

    it('refuses to cut a thumbnail again from a photo swapped for a file over the size limit, without reading it', async () => {
      const id = ids.get('portraits/faceapi-bbt/leonard/leonard1.png')!;
      const face = store.views.photoFaces(id)[0]!.id;
      const path = join(library, 'portraits/faceapi-bbt/leonard/leonard1.png');
      // Same first bytes, then a sparse tail past 2 GiB (more than one read of a whole file can hold).
      truncateSync(path, 2 * 1024 ** 3 + 1);
      assert.ok(statSync(path).size > MAX_FILE_BYTES);
      rmSync(faceThumbPath(store.path, face));
      try {
        assert.equal(await engine.resource('thumb', face), null);
        assert.equal((await raw(server.port, `/thumb/${face}`, { headers: h() })).status, 404);
        assert.ok(!existsSync(faceThumbPath(store.path, face)));
      } finally {
        rmSync(path);
      }
    });
  });

  describe('requests', () => {
    it('answers HEAD for the app\'s files and media, and only GET/HEAD for the app', async () => {
      const head = await raw(server.port, '/', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(head.headers['content-length'], String(statSync(join(renderer, 'index.html')).size));
      assert.equal(head.body, '');
      const photo = await raw(server.port, `/photo/${ids.get('groups/faceapi/bbt1.jpg')}`, { method: 'HEAD', headers: h() });
      assert.equal(photo.status, 200);
      assert.equal(photo.headers['content-type'], 'image/jpeg');
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const r = await raw(server.port, '/index.html', { method, headers: { ...h(), 'content-type': 'text/plain' }, body: 'x' });
        assert.equal(r.status, 405, method);
        assert.match(String(r.headers.allow), /GET, HEAD/);
      }
    });

    it('serves the app without a token, but the API, events and media only with it', async () => {
      const page = await raw(server.port, '/');
      assert.equal(page.status, 200);
      assert.match(page.body, /<div id="app">/);
      assert.equal(page.headers['set-cookie'], undefined, 'no cookie: cookies reach every port of 127.0.0.1');
      // The tab's icon: the page names it, and it is served (a browser asked /favicon.ico and got a 404 before).
      const icon = /<link rel="icon"[^>]* href="\.\/([^"]+)"/.exec(page.body)?.[1];
      assert.ok(icon, 'the page links an icon');
      const iconFile = await raw(server.port, `/${icon}`);
      assert.equal(iconFile.status, 200);
      assert.equal(iconFile.headers['content-type'], 'image/svg+xml');
      assert.match(iconFile.body, /<svg /);
      for (const path of ['/api/events', `/photo/${ids.get('groups/faceapi/bbt1.jpg')}`, `/thumb/${groupFace}`]) {
        assert.equal((await raw(server.port, path)).status, 401, path);
        assert.equal((await raw(server.port, `${path}?token=wrong`)).status, 401, path);
      }
      assert.equal((await raw(server.port, `/thumb/${groupFace}?token=${server.token}`)).status, 200, '<img> URLs carry it in the query');
      const api = await raw(server.port, `/api/status?token=${server.token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(api.status, 401, 'an API call needs the header, which another site cannot set');
    });

    it('refuses a state-changing request from a foreign Origin, even with the token (403)', async () => {
      const call = (headers: Record<string, string>) =>
        raw(server.port, '/api/status', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"args":[]}' });
      for (const origin of ['http://evil.example', `http://127.0.0.1:${server.port + 1}`, `http://localhost:${server.port + 1}`, 'null', `https://127.0.0.1:${server.port}`]) {
        const r = await call({ ...h(), origin });
        assert.equal(r.status, 403, origin);
        assert.match(r.body, /cross-origin/);
      }
      assert.equal((await call({ ...h(), origin: `http://127.0.0.1:${server.port}` })).status, 200, 'its own page');
      assert.equal((await call({ ...h(), origin: `http://localhost:${server.port}` })).status, 200, 'its own page by name');
      assert.equal((await call(h())).status, 200, 'a non-browser client with the token header');
      assert.equal((await call({})).status, 401, 'no Origin and no token header');
    });

    it('answers a body over 64 MiB with 413, sized or streamed, and keeps serving', async () => {
      const big = Buffer.alloc(100 * 1024 * 1024, 0x20);
      const sized = await raw(server.port, '/api/searchByPhoto', { method: 'POST', headers: { ...h(), 'content-type': 'application/json', 'content-length': big.length }, body: big });
      assert.equal(sized.status, 413);
      assert.match(sized.body, /over 64 MiB/);
      const streamed = await raw(server.port, '/api/searchByPhoto', { method: 'POST', headers: { ...h(), 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: big });
      assert.equal(streamed.status, 413);
      assert.equal((await raw(server.port, '/api/status', { method: 'POST', headers: { ...h(), 'content-type': 'application/json' }, body: '{}' })).status, 200);
    });

    it('tells a browser without a valid token which link to open, in a page, not raw JSON', async () => {
      const html = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
      for (const path of ['/?token=an-old-token', `/photo/${ids.get('groups/faceapi/bbt1.jpg')}`, NEEDS_LINK_PATH]) {
        const r = await raw(server.port, path, { headers: html });
        assert.equal(r.status, 401, path);
        assert.equal(r.headers['content-type'], 'text/html; charset=utf-8', path);
        assert.match(r.body, /Open the link that <code>kith serve<\/code> printed in the terminal/, path);
        assert.ok(!r.body.includes(server.token), 'and never the token');
      }
      const json = await raw(server.port, '/api/events');
      assert.equal(json.headers['content-type'], 'application/json; charset=utf-8', 'a script still gets JSON');
    });
  });

  describe('in Chromium', { skip: NO_BROWSER }, () => {
    it('loads the app, its thumbnails and a photo, and a server on another port of 127.0.0.1 receives no Kith credential', async () => {
      const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
      const spy = createServer((req, res) => {
        seen.push({ url: req.url ?? '', headers: req.headers });
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><title>spy</title><img src="/pixel.png">');
      });
      await new Promise<void>((ok) => spy.listen(0, '127.0.0.1', ok));
      const spyPort = (spy.address() as AddressInfo).port;
      const browser = await launch();
      try {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(`${server.url}#/photo/${ids.get('groups/faceapi/bbt1.jpg')}`);
        await page.waitForFunction(() => {
          const imgs = [...(globalThis as unknown as { document: { images: Iterable<{ src: string; complete: boolean; naturalWidth: number }> } }).document.images];
          return imgs.some((i) => i.src.includes('/photo/') && i.complete && i.naturalWidth > 0);
        }, undefined, { timeout: 30_000 });
        assert.ok(!page.url().includes('token='), 'the token is gone from the address bar');
        // Face thumbnails: on the People screen, or the unassigned faces when no one has been found yet.
        const hasPeople = ((await engine.call('people', [])) as unknown[]).length > 0;
        await page.evaluate((hash) => ((globalThis as unknown as { location: { hash: string } }).location.hash = hash), hasPeople ? '#/people' : '#/unassigned');
        await page.waitForFunction(() => {
          const imgs = [...(globalThis as unknown as { document: { images: Iterable<{ src: string; complete: boolean; naturalWidth: number }> } }).document.images];
          return imgs.some((i) => i.src.includes('/thumb/') && i.complete && i.naturalWidth > 0);
        }, undefined, { timeout: 30_000 });
        for (const host of ['127.0.0.1', 'localhost']) {
          await page.goto(`http://${host}:${spyPort}/after-kith`);
          await page.waitForLoadState('load');
        }
        assert.ok(seen.length >= 2, 'the spy was visited');
        for (const r of seen) {
          assert.equal(r.headers.cookie, undefined, `cookie sent to ${r.url}`);
          assert.ok(!JSON.stringify(r).includes(server.token), `the token reached the spy: ${r.url}`);
        }
        assert.deepEqual(await context.cookies(), [], 'Kith set no cookie at all');
      } finally {
        await browser.close();
        spy.close();
      }
    });

    it('sends a tab with no token, or an old one, to the page that says which link to open', async () => {
      const browser = await launch();
      try {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${server.port}/`);
        await page.waitForURL(/\/needs-link$/);
        await page.getByText('kith serve').first().waitFor();
        await page.goto(`http://127.0.0.1:${server.port}/?token=an-old-token`);
        assert.match((await page.textContent('body')) ?? '', /Open the link that kith serve printed in the terminal/);
      } finally {
        await browser.close();
      }
    });
  });
});

describe('the token of a library', () => {
  const dir = tempDir('kith-token-');

  it('is kept beside the database, readable by its owner only, and rotated on request', { skip: process.platform === 'win32' }, () => {
    const db = join(dir, 'a.db');
    const first = libraryToken(db);
    assert.equal(first.file, tokenPathFor(db));
    assert.equal(statSync(first.file).mode & 0o777, 0o600);
    assert.equal(libraryToken(db).token, first.token);
    const rotated = libraryToken(db, { rotate: true });
    assert.notEqual(rotated.token, first.token);
    assert.equal(libraryToken(db).token, rotated.token);
    // A token others could read may be known to them: it is replaced, not used.
    chmodSync(first.file, 0o644);
    const replaced = libraryToken(db);
    assert.notEqual(replaced.token, rotated.token);
    assert.equal(statSync(first.file).mode & 0o777, 0o600);
  });

  it('gives `kith serve` the same address after a restart, and a new one with --new-token', async () => {
    const db = join(dir, 'cli.db');
    const urlOf = async (...extra: string[]) => {
      const child = startCli(['serve', '--db', db, '--port', '0', '--device', 'cpu', ...extra]);
      let out = '';
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      try {
        return await new Promise<URL>((done, fail) => {
          child.stdout!.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /running at (http:\/\/\S+)/.exec(out);
            if (m) done(new URL(m[1]!));
          });
          child.once('exit', (code) => fail(new Error(`kith serve exited with ${code}:\n${err}`)));
        });
      } finally {
        await new Promise<void>((done) => {
          child.once('exit', () => done());
          child.kill('SIGTERM');
        });
      }
    };
    const first = await urlOf();
    const again = await urlOf();
    assert.equal(again.searchParams.get('token'), first.searchParams.get('token'), 'a bookmark survives a restart');
    const rotated = await urlOf('--new-token');
    assert.notEqual(rotated.searchParams.get('token'), first.searchParams.get('token'));
    assert.equal(readFileSync(tokenPathFor(db), 'utf8').trim(), rotated.searchParams.get('token'));
  });
});

/** The engine's ApiHandler methods, bound, so one of them can be replaced. */
function bind(engine: KithEngine): ApiHandler {
  return {
    call: (m, a) => engine.call(m, a),
    subscribe: (l) => engine.subscribe(l),
    resource: (k, id) => engine.resource(k, id),
    isUserError: (e) => engine.isUserError(e),
  };
}

/**
 * The desktop shell without Electron: the `kith://` protocol (serves the app and library
 * media, refuses everything else), the remembered window size, main's request/reply
 * bookkeeping with the engine process, the CSP, the menu, the IPC checks, and the preload
 * script, loaded as written with a fake `electron` module in place of the real one.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EngineClient, EngineError, timeoutFor } from '../electron/engine-client.ts';
import { CHANNELS, isAppSender, settle } from '../electron/ipc.ts';
import { menuTemplate } from '../electron/menu.ts';
import { createProtocolHandler, CSP, parseKithUrl, resolveAppPath } from '../electron/protocol.ts';
import { APP_URL, mediaUrl } from '../electron/urls.ts';
import { DEFAULT_STATE, loadWindowState, MIN_SIZE, sanitizeState, saveWindowState } from '../electron/window-state.ts';
import type { HostRequest } from '../native/api/engine-host.ts';
import { REPO, tempDir } from './helpers.ts';

/** A built renderer, a secret beside it, and a library photo and thumbnail elsewhere. */
function fixture() {
  const dir = tempDir('kith-electron-');
  const renderer = join(dir, 'dist', 'renderer');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Kith</title>');
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log("kith")');
  writeFileSync(join(dir, 'dist', 'secret.txt'), 'SECRET');
  writeFileSync(join(dir, 'thumb-7.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
  return { dir, renderer };
}

describe('kith:// protocol', () => {
  const { dir, renderer } = fixture();
  const asked: Array<[string, number]> = [];
  const handler = createProtocolHandler({
    rendererDir: renderer,
    resource: async (kind, id) => {
      asked.push([kind, id]);
      return kind === 'thumb' && id === 7 ? { path: join(dir, 'thumb-7.jpg'), type: 'image/jpeg', root: dir } : null;
    },
  });
  const get = (url: string, method = 'GET') => handler(new Request(url, { method }));

  it('resolves app paths inside the renderer folder', () => {
    assert.equal(resolveAppPath(renderer, '/'), join(renderer, 'index.html'));
    assert.equal(resolveAppPath(renderer, '/index.html'), join(renderer, 'index.html'));
    assert.equal(resolveAppPath(renderer, '/assets/app.js'), join(renderer, 'assets', 'app.js'));
    assert.equal(resolveAppPath(renderer, '/assets/my%20file.css'), join(renderer, 'assets', 'my file.css'));
  });

  it('refuses traversal, encoded traversal, absolute paths, backslashes and NUL', () => {
    for (const evil of [
      '/../secret.txt',
      '/../../etc/passwd',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/%2E%2E/etc/passwd',
      '/..%2fsecret.txt',
      '/assets/..%2F..%2Fsecret.txt',
      '/..%5csecret.txt',
      '/assets\\..\\..\\secret.txt',
      '//etc/passwd',
      '/%2Fetc%2Fpasswd',
      '/C:/Windows/win.ini',
      '/c:%5cWindows%5cwin.ini',
      '/index.html%00.png',
      '/%E0%A4%A',
    ]) {
      assert.equal(resolveAppPath(renderer, evil), null, evil);
    }
  });

  it('serves the app with the CSP on every response', async () => {
    const res = await get(APP_URL);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('content-security-policy'), CSP);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(await res.text(), /<title>Kith<\/title>/);
    const js = await get('kith://app/assets/app.js');
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(await js.text(), 'console.log("kith")');
    const missing = await get('kith://app/nope.js');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-security-policy'), CSP);
  });

  it('never serves a file outside the renderer, however the URL is spelled', async () => {
    for (const url of [
      'kith://app/../secret.txt',
      'kith://app/../../etc/passwd',
      'kith://app/%2e%2e/secret.txt',
      'kith://app/..%2fsecret.txt',
      'kith://app/assets/..%2f..%2fsecret.txt',
      'kith://app/..%5Csecret.txt',
      'kith://app//etc/passwd',
      'kith://app/%2Fetc%2Fpasswd',
      `kith://app/${encodeURIComponent(join(dir, 'dist', 'secret.txt'))}`,
    ]) {
      const res = await get(url);
      assert.notEqual(res.status, 200, url);
      const body = await res.text();
      assert.ok(!body.includes('SECRET') && !body.includes('root:'), url);
      assert.equal(res.headers.get('content-security-policy'), CSP, url);
    }
  });

  it('serves thumbnails and photos only when the engine vouches for them', async () => {
    asked.length = 0;
    const thumb = await get(mediaUrl('thumb', 7));
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
    assert.equal(thumb.headers.get('content-security-policy'), CSP);
    assert.deepEqual([...new Uint8Array(await thumb.arrayBuffer())].slice(0, 3), [0xff, 0xd8, 0xff]);
    assert.equal((await get('kith://thumb/8')).status, 404);
    assert.equal((await get('kith://photo/7')).status, 404);
    assert.deepEqual(asked, [['thumb', 7], ['thumb', 8], ['photo', 7]]);
    // Anything but a plain id never reaches the engine.
    for (const url of ['kith://thumb/abc', 'kith://thumb/-1', 'kith://thumb/7/../../etc/passwd', 'kith://photo/1.5', 'kith://photo/', 'kith://files/etc/passwd', 'kith://evil.com/x']) {
      assert.equal((await get(url)).status, 404, url);
    }
    assert.equal(asked.length, 3);
    assert.equal((await get(APP_URL, 'POST')).status, 405);
  });

  it('parses only kith URLs with a known host', () => {
    assert.deepEqual(parseKithUrl('kith://thumb/12'), { kind: 'thumb', id: 12 });
    assert.deepEqual(parseKithUrl('kith://photo/3'), { kind: 'photo', id: 3 });
    assert.deepEqual(parseKithUrl('kith://app/a/b.js'), { kind: 'app', pathname: '/a/b.js' });
    assert.equal(parseKithUrl('file:///etc/passwd'), null);
    assert.equal(parseKithUrl('https://app/index.html'), null);
    assert.equal(parseKithUrl('not a url'), null);
  });
});

describe('content security policy', () => {
  it("allows only the app's own scripts: default-src 'self', no eval, no inline script", () => {
    const directives = new Map(CSP.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
    assert.deepEqual(directives.get('default-src'), ["'self'"]);
    assert.deepEqual(directives.get('script-src'), ["'self'"]);
    assert.deepEqual(directives.get('object-src'), ["'none'"]);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
    assert.ok(!CSP.includes('unsafe-eval'));
    assert.ok(directives.get('img-src')!.includes('kith:'), 'thumbnails load from kith://thumb');
    assert.ok(!CSP.includes('*'), 'no wildcard source');
  });
});

describe('window size and place', () => {
  const dir = tempDir('kith-window-');

  it('round-trips through the JSON file', () => {
    const file = join(dir, 'userData', 'window-state.json');
    saveWindowState(file, { x: 40, y: 30, width: 1400, height: 900 }, true);
    assert.deepEqual(loadWindowState(file), { x: 40, y: 30, width: 1400, height: 900, maximized: true });
    assert.deepEqual(readdirSync(join(dir, 'userData')), ['window-state.json'], 'no temp file left behind');
  });

  it('falls back to sane defaults when the file is missing, corrupt or nonsense', () => {
    const file = join(dir, 'state.json');
    assert.deepEqual(loadWindowState(join(dir, 'missing.json')), DEFAULT_STATE);
    for (const junk of ['{"width": 12', '', 'null', '[]', '"big"', '{"width":"1200","height":800}', '{"width":1e400,"height":800}', '{"height":800}']) {
      writeFileSync(file, junk);
      assert.deepEqual(loadWindowState(file), DEFAULT_STATE, junk);
    }
  });

  it('clamps sizes and forgets a position that is off every screen', () => {
    const screen = [{ x: 0, y: 0, width: 1920, height: 1080 }];
    assert.deepEqual(sanitizeState({ width: 10, height: -5, x: 0, y: 0 }, screen), { width: MIN_SIZE.width, height: MIN_SIZE.height, x: 0, y: 0, maximized: false });
    assert.deepEqual(sanitizeState({ width: 9000, height: 9000 }, screen), { width: 1920, height: 1080, maximized: false });
    // Saved on a second monitor that is gone now: size kept, position dropped (centred).
    assert.deepEqual(sanitizeState({ width: 1200, height: 800, x: 2500, y: 100 }, screen), { width: 1200, height: 800, maximized: false });
    assert.deepEqual(sanitizeState({ width: 1200, height: 800, x: 2500, y: 100 }, [...screen, { x: 1920, y: 0, width: 2560, height: 1440 }]), {
      width: 1200,
      height: 800,
      x: 2500,
      y: 100,
      maximized: false,
    });
  });
});

describe('main ↔ engine request correlation', () => {
  function client(timeoutMs = 5000) {
    const sent: HostRequest[] = [];
    const events: unknown[] = [];
    const c = new EngineClient({ timeoutMs: () => timeoutMs, onEvent: (event, data) => events.push({ event, data }) });
    c.attach((m) => sent.push(m));
    c.receive({ type: 'ready' });
    return { c, sent, events };
  }

  it('matches replies to requests by id, whatever their order', async () => {
    const { c, sent } = client();
    const a = c.call('status', []);
    const b = c.call('person', [3]);
    const r = c.resource('thumb', 9);
    assert.deepEqual(
      sent.map((m) => m.type),
      ['call', 'call', 'resource'],
    );
    const [ma, mb, mr] = sent as [HostRequest & { id: number }, HostRequest & { id: number }, HostRequest & { id: number }];
    assert.deepEqual(mb, { type: 'call', method: 'person', args: [3], id: mb.id });
    assert.deepEqual(mr, { type: 'resource', kind: 'thumb', faceOrPhotoId: 9, id: mr.id });
    assert.equal(new Set([ma.id, mb.id, mr.id]).size, 3);
    c.receive({ type: 'result', id: mr.id, result: { path: '/lib/t.jpg', type: 'image/jpeg' } });
    c.receive({ type: 'error', id: mb.id, message: 'no person 3', user: true });
    c.receive({ type: 'result', id: ma.id, result: { photos: 4 } });
    assert.deepEqual(await a, { photos: 4 });
    await assert.rejects(b, (err: EngineError) => err instanceof EngineError && err.message === 'no person 3' && err.user === true);
    assert.deepEqual(await r, { path: '/lib/t.jpg', type: 'image/jpeg' });
    assert.equal(c.inFlight, 0);
    c.receive({ type: 'result', id: ma.id, result: 'late duplicate' }); // ignored
    c.receive('garbage');
    c.receive(null);
  });

  it('fails a request the engine does not answer in time, and ignores the late reply', async () => {
    const { c, sent } = client(30);
    const slow = c.call('people', []);
    await assert.rejects(slow, /did not answer people within/);
    assert.equal(c.inFlight, 0);
    c.receive({ type: 'result', id: (sent[0] as { id: number }).id, result: [] });
    assert.equal(timeoutFor('status') < timeoutFor('cluster'), true, 'clustering gets longer than a status call');
  });

  it('rejects every pending call when the engine process dies, and waits for a new one', async () => {
    const { c, sent } = client();
    const pending = [c.call('status', []), c.call('people', []), c.resource('photo', 1)];
    c.hostExited('exit code 9');
    for (const p of pending) await assert.rejects(p, (err: EngineError) => /engine stopped \(exit code 9\)/.test(err.message) && !err.user);
    await assert.rejects(c.call('status', []), /not running/);
    // A restarted host: requests are held until it says it is ready.
    const next: HostRequest[] = [];
    c.attach((m) => next.push(m));
    const later = c.call('status', []);
    assert.equal(next.length, 0);
    c.receive({ type: 'ready' });
    assert.equal(next.length, 1);
    c.receive({ type: 'result', id: (next[0] as { id: number }).id, result: 'ok' });
    assert.equal(await later, 'ok');
    assert.equal(sent.length, 3);
  });

  it('passes engine events on', () => {
    const { c, events } = client();
    c.receive({ type: 'event', event: 'changed', data: { reason: 'people' } });
    assert.deepEqual(events, [{ event: 'changed', data: { reason: 'people' } }]);
  });
});

describe('IPC checks and the menu', () => {
  it('only the app origin may call main', () => {
    assert.equal(isAppSender('kith://app/index.html'), true);
    assert.equal(isAppSender('kith://app/'), true);
    for (const url of ['kith://thumb/1', 'https://example.com/', 'file:///index.html', 'kith://app.evil/index.html', '', null, undefined, 'nonsense']) {
      assert.equal(isAppSender(url), false, String(url));
    }
  });

  it('wraps engine outcomes as data for the trip to the renderer', async () => {
    assert.deepEqual(await settle(Promise.resolve({ a: 1 })), { ok: true, result: { a: 1 } });
    assert.deepEqual(await settle(Promise.resolve(undefined)), { ok: true, result: null });
    assert.deepEqual(await settle(Promise.reject(new EngineError('no face 4', true))), { ok: false, error: 'no face 4', user: true });
    assert.deepEqual(await settle(Promise.reject(new Error('disk full'))), { ok: false, error: 'disk full', user: false });
  });

  it('has the usual menus, with the app menu on macOS only', () => {
    const roles = (p: NodeJS.Platform) => menuTemplate(p, 'Kith').map((m) => m.role);
    assert.deepEqual(roles('darwin'), ['appMenu', 'fileMenu', 'editMenu', 'viewMenu', 'windowMenu', 'help']);
    const edit = menuTemplate('linux', 'Kith').find((m) => m.role === 'editMenu')!;
    const undo = (edit.submenu as Array<{ role?: string; registerAccelerator?: boolean }>).find((i) => i.role === 'undo')!;
    assert.equal(undo.registerAccelerator, false, 'Ctrl+Z reaches the page, which undoes people operations');
    assert.deepEqual(roles('linux'), ['fileMenu', 'editMenu', 'viewMenu', 'windowMenu', 'help']);
    assert.deepEqual(roles('win32'), roles('linux'));
    const help = menuTemplate('linux', 'Kith').at(-1)!.submenu as Array<{ role?: string }>;
    assert.ok(help.some((i) => i.role === 'about'));
  });
});

describe('preload (electron/preload.ts with a fake electron module)', () => {
  interface Fake {
    exposed: Array<[string, Record<string, unknown>]>;
    invoked: unknown[][];
    listeners: Map<string, Set<(e: unknown, ...a: unknown[]) => void>>;
    reply: (channel: string, ...args: unknown[]) => unknown;
  }
  const fake: Fake = { exposed: [], invoked: [], listeners: new Map(), reply: () => undefined };
  (globalThis as { __kithFakeElectron?: unknown }).__kithFakeElectron = {
    contextBridge: { exposeInMainWorld: (key: string, api: Record<string, unknown>) => fake.exposed.push([key, api]) },
    webUtils: { getPathForFile: (file: { path: string }) => file.path },
    ipcRenderer: {
      invoke: async (channel: string, ...args: unknown[]) => {
        fake.invoked.push([channel, ...args]);
        return fake.reply(channel, ...args);
      },
      on: (channel: string, l: (e: unknown, ...a: unknown[]) => void) => {
        if (!fake.listeners.has(channel)) fake.listeners.set(channel, new Set());
        fake.listeners.get(channel)!.add(l);
      },
      removeListener: (channel: string, l: (e: unknown, ...a: unknown[]) => void) => fake.listeners.get(channel)?.delete(l),
    },
  };
  // Resolve `electron` to a module reading the fake above: the real package is never loaded.
  const fakeModule = `data:text/javascript,${encodeURIComponent(
    'const f = globalThis.__kithFakeElectron; export const contextBridge = f.contextBridge; export const ipcRenderer = f.ipcRenderer; export const webUtils = f.webUtils; export default f;',
  )}`;
  register(
    `data:text/javascript,${encodeURIComponent(
      `export async function resolve(specifier, context, next) { return specifier === 'electron' ? { url: ${JSON.stringify(fakeModule)}, shortCircuit: true } : next(specifier, context); }`,
    )}`,
  );

  type Bridge = {
    call(method: string, args?: unknown[]): Promise<unknown>;
    subscribe(l: (event: string, data: unknown) => void): () => void;
    mediaUrl(kind: string, id: number): string;
    pickFolder(): Promise<string | null>;
    pathForFile(file: unknown): string;
  };
  let bridge: Bridge;

  it('exposes exactly window.kith = { call, subscribe, mediaUrl, pickFolder, pathForFile }', async () => {
    await import('../electron/preload.ts');
    assert.equal(fake.exposed.length, 1);
    const [key, api] = fake.exposed[0]!;
    assert.equal(key, 'kith');
    assert.deepEqual(Object.keys(api).sort(), ['call', 'mediaUrl', 'pathForFile', 'pickFolder', 'subscribe']);
    for (const v of Object.values(api)) assert.equal(typeof v, 'function');
    bridge = api as unknown as Bridge;
    assert.equal(bridge.pathForFile({ path: '/home/me/Pictures' }), '/home/me/Pictures');
  });

  it('forwards API calls and unwraps replies; engine errors become Errors', async () => {
    fake.reply = (_c, method) => (method === 'status' ? { ok: true, result: { photos: 2 } } : { ok: false, error: 'no person 9', user: true });
    assert.deepEqual(await bridge.call('status'), { photos: 2 });
    await assert.rejects(bridge.call('person', [9]), /^Error: no person 9$/);
    assert.deepEqual(fake.invoked.slice(-2), [
      [CHANNELS.call, 'status', []],
      [CHANNELS.call, 'person', [9]],
    ]);
  });

  it('refuses method names that are not in API_METHODS before anything reaches main', async () => {
    const before = fake.invoked.length;
    for (const bad of ['constructor', '__proto__', 'toString', 'dropTables', '']) await assert.rejects(bridge.call(bad), /no API method/);
    await assert.rejects(bridge.call('status', 'x' as unknown as unknown[]), /args must be an array/);
    assert.equal(fake.invoked.length, before);
  });

  it('subscribes to engine events and unsubscribes', () => {
    const got: unknown[] = [];
    const off = bridge.subscribe((event, data) => got.push([event, data]));
    const emit = (msg: unknown) => fake.listeners.get(CHANNELS.event)?.forEach((l) => l({ sender: 'ipc' }, msg));
    emit({ event: 'progress', data: { phase: 'indexing', done: 1 } });
    emit('junk');
    off();
    emit({ event: 'changed', data: { reason: 'people' } });
    assert.deepEqual(got, [['progress', { phase: 'indexing', done: 1 }]]);
    assert.equal(fake.listeners.get(CHANNELS.event)?.size, 0);
  });

  it('builds media URLs and picks a folder', async () => {
    assert.equal(bridge.mediaUrl('thumb', 12), 'kith://thumb/12');
    assert.equal(bridge.mediaUrl('photo', 3), 'kith://photo/3');
    assert.throws(() => bridge.mediaUrl('file', 1));
    assert.throws(() => bridge.mediaUrl('thumb', -1));
    assert.throws(() => bridge.mediaUrl('thumb', 1.5));
    fake.reply = (channel) => (channel === CHANNELS.pickFolder ? '/home/me/Pictures' : undefined);
    assert.equal(await bridge.pickFolder(), '/home/me/Pictures');
    fake.reply = () => null;
    assert.equal(await bridge.pickFolder(), null);
  });
});

describe('the engine and the testable shell never import electron', () => {
  it('only main.ts and preload.ts import electron at run time', () => {
    const sources = (dir: string): string[] =>
      readdirSync(join(REPO, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
      );
    const importsElectron = (file: string) =>
      readFileSync(join(REPO, file), 'utf8')
        .split('\n')
        .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)) // comments may mention require('electron')
        .some((line) => /^\s*import\s+(?!type\b)[^;]*from\s+['"]electron['"]|require\(\s*['"]electron['"]\s*\)|import\(\s*['"]electron['"]\s*\)/.test(line));
    const offenders = [...sources('native'), ...sources('electron')].filter(importsElectron);
    assert.deepEqual(offenders.sort(), [join('electron', 'main.ts'), join('electron', 'preload.ts')]);
  });
});

/**
 * The desktop window's security, from Electron's checklist: electron/main.ts itself is loaded
 * with a fake `electron` module (the real one is never loaded in tests), and the hooks it
 * registers are driven as Electron would drive them. No permission but a clipboard write from
 * the app's own page; no navigation, redirect, new window or <webview> away from the app; a
 * link opens in the browser only from the allow-list; the engine starts without ONNX Runtime
 * telemetry; the window keeps its sandbox. Plus the pure rules in electron/security.ts.
 */
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { before, describe, it } from 'node:test';
import { allowExternal, allowNavigation, allowPermission, ALLOWED_PERMISSIONS, EXTERNAL_ORIGINS } from '../electron/security.ts';
import { tempDir } from './helpers.ts';

type Listener = (...args: unknown[]) => unknown;
type WindowOpen = (details: { url: string }) => { action: string };

/** Everything main.ts hands to Electron, recorded. */
const seen = {
  appListeners: new Map<string, Listener[]>(),
  permissionRequest: null as null | ((wc: unknown, permission: string, callback: (granted: boolean) => void, details: { requestingUrl?: string }) => void),
  permissionCheck: null as null | ((wc: unknown, permission: string, requestingOrigin: string, details: unknown) => boolean),
  windows: [] as Array<{ webPreferences: Record<string, unknown> }>,
  forks: [] as Array<{ path: string; options: { env?: Record<string, string | undefined> } }>,
  opened: [] as string[],
};

function fakeElectron(userData: string) {
  const on = (event: string, fn: Listener) => {
    seen.appListeners.set(event, [...(seen.appListeners.get(event) ?? []), fn]);
  };
  const contents = { send() {}, setWindowOpenHandler() {}, on() {} };
  class BrowserWindow {
    static getAllWindows = () => [];
    webContents = contents;
    constructor(options: { webPreferences: Record<string, unknown> }) {
      seen.windows.push(options);
    }
    maximize() {}
    once() {}
    on() {}
    isDestroyed = () => false;
    loadURL = async () => {};
    getNormalBounds = () => ({ x: 0, y: 0, width: 1200, height: 800 });
    isMaximized = () => false;
  }
  return {
    app: {
      getAppPath: () => userData,
      isPackaged: false,
      getPath: () => userData,
      getName: () => 'Kith',
      requestSingleInstanceLock: () => true,
      on,
      whenReady: () => Promise.resolve(),
      quit() {},
    },
    BrowserWindow,
    dialog: { showErrorBox() {}, showOpenDialog: async () => ({ canceled: true, filePaths: [] }) },
    ipcMain: { handle() {} },
    Menu: { setApplicationMenu() {}, buildFromTemplate: (t: unknown) => t },
    protocol: { registerSchemesAsPrivileged() {}, handle() {} },
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (fn: typeof seen.permissionRequest) => (seen.permissionRequest = fn),
        setPermissionCheckHandler: (fn: typeof seen.permissionCheck) => (seen.permissionCheck = fn),
      },
    },
    shell: { openExternal: async (url: string) => void seen.opened.push(url) },
    utilityProcess: {
      fork: (path: string, _args: string[], options: { env?: Record<string, string | undefined> }) => {
        seen.forks.push({ path, options });
        return { on() {}, postMessage() {}, kill() {} };
      },
    },
  };
}

/** A fake webContents for `web-contents-created`: what main.ts attaches to it. */
function fakeContents() {
  const handlers = new Map<string, Listener>();
  let windowOpen: WindowOpen | null = null;
  return {
    handlers,
    get windowOpen() {
      return windowOpen!;
    },
    setWindowOpenHandler: (fn: WindowOpen) => void (windowOpen = fn),
    on: (event: string, fn: Listener) => void handlers.set(event, fn),
  };
}

/** Fire `event` on the fake contents; true when main.ts called preventDefault. */
function prevented(c: ReturnType<typeof fakeContents>, event: string, url?: string): boolean {
  let stopped = false;
  c.handlers.get(event)!({ preventDefault: () => (stopped = true) }, url);
  return stopped;
}

describe('electron/main.ts with a fake electron', () => {
  before(async () => {
    const names = Object.keys(fakeElectron(''));
    (globalThis as { __kithFakeMain?: unknown }).__kithFakeMain = fakeElectron(tempDir('kith-main-'));
    const fakeModule = `data:text/javascript,${encodeURIComponent(`const f = globalThis.__kithFakeMain; ${names.map((n) => `export const ${n} = f.${n};`).join(' ')} export default f;`)}`;
    register(
      `data:text/javascript,${encodeURIComponent(
        `export async function resolve(specifier, context, next) { return specifier === 'electron' ? { url: ${JSON.stringify(fakeModule)}, shortCircuit: true } : next(specifier, context); }`,
      )}`,
    );
    await import('../electron/main.ts');
    await new Promise((r) => setImmediate(r)); // app.whenReady().then(...)
  });

  it('grants no permission but a clipboard write, and that only to the app itself, whether asked or checked', () => {
    assert.ok(seen.permissionRequest && seen.permissionCheck, 'both session permission handlers are set');
    const ask = (permission: string, url: string) => {
      let granted: boolean | undefined;
      seen.permissionRequest!({}, permission, (g) => (granted = g), { requestingUrl: url });
      return granted;
    };
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'display-capture', 'hid', 'usb', 'serial', 'midi', 'openExternal', 'fullscreen', 'unknown']) {
      assert.equal(ask(p, 'kith://app/index.html'), false, p);
      assert.equal(seen.permissionCheck!(null, p, 'kith://app', {}), false, p);
    }
    assert.equal(ask('clipboard-sanitized-write', 'kith://app/index.html'), true);
    assert.equal(seen.permissionCheck!(null, 'clipboard-sanitized-write', 'kith://app', {}), true);
    assert.equal(ask('clipboard-sanitized-write', 'https://evil.example/'), false);
    assert.equal(seen.permissionCheck!(null, 'clipboard-sanitized-write', 'kith://thumb', {}), false);
  });

  it('keeps every page on the app: no new window, navigation, redirect or webview elsewhere', () => {
    const created = seen.appListeners.get('web-contents-created');
    assert.equal(created?.length, 1, 'main.ts hardens every webContents Electron creates');
    const c = fakeContents();
    created[0]!({}, c);
    assert.equal(prevented(c, 'will-navigate', 'https://evil.example/'), true);
    assert.equal(prevented(c, 'will-navigate', 'file:///etc/passwd'), true);
    assert.equal(prevented(c, 'will-navigate', 'kith://app.evil/index.html'), true);
    assert.equal(prevented(c, 'will-navigate', 'kith://app/index.html#/people'), false);
    assert.equal(prevented(c, 'will-redirect', 'https://evil.example/'), true);
    assert.equal(prevented(c, 'will-redirect', 'kith://app/index.html'), false);
    assert.equal(prevented(c, 'will-attach-webview'), true);
    for (const url of ['kith://app/index.html', 'https://evil.example/', 'https://github.com/', 'http://localhost:1/', 'file:///etc/passwd', 'javascript:alert(1)']) {
      assert.deepEqual(c.windowOpen({ url }), { action: 'deny' }, url);
    }
    assert.deepEqual(seen.opened, [], 'no link on no list reaches the browser');
  });

  it('opens the window sandboxed, isolated and without Node', () => {
    assert.equal(seen.windows.length, 1);
    const prefs = seen.windows[0]!.webPreferences;
    assert.equal(prefs.contextIsolation, true);
    assert.equal(prefs.sandbox, true);
    assert.equal(prefs.nodeIntegration, false);
    assert.equal(prefs.nodeIntegrationInWorker, false);
    assert.equal(prefs.webSecurity, true);
    assert.equal(prefs.allowRunningInsecureContent, false);
  });

  it('starts the engine as a utility process with ONNX Runtime telemetry off', () => {
    assert.equal(seen.forks.length, 1);
    assert.match(seen.forks[0]!.path, /engine-host\.js$/);
    assert.equal(seen.forks[0]!.options.env?.ORT_DISABLE_TELEMETRY, '1');
    assert.ok(Number(seen.forks[0]!.options.env?.UV_THREADPOOL_SIZE) >= 4, 'libuv pool sized before the engine starts');
  });
});

describe('electron/security.ts rules', () => {
  it('lists only the clipboard write as a permission', () => {
    assert.deepEqual([...ALLOWED_PERMISSIONS], ['clipboard-sanitized-write']);
    assert.equal(allowPermission('clipboard-sanitized-write', null), false);
    assert.equal(allowPermission('clipboard-sanitized-write', 'not a url'), false);
  });

  it('navigates only inside kith://app', () => {
    assert.equal(allowNavigation('kith://app/'), true);
    for (const url of ['kith://thumb/1', 'kith://photo/1', 'https://app/', 'about:blank', 'data:text/html,hi', '']) assert.equal(allowNavigation(url), false, url);
  });

  it('opens external links only for https origins on the list, without credentials', () => {
    assert.deepEqual(EXTERNAL_ORIGINS, [], 'Kith links nowhere today');
    const list = ['https://example.org'];
    assert.equal(allowExternal('https://example.org/licence', list), true);
    for (const url of ['http://example.org/', 'https://example.org.evil.com/', 'https://user:pw@example.org/', 'https://evil.com/?https://example.org', 'file:///etc/passwd', 'smb://host/share', 'not a url']) {
      assert.equal(allowExternal(url, list), false, url);
    }
    assert.equal(allowExternal('https://example.org/'), false, 'nothing by default');
  });
});

/**
 * @file Electron main: one window, the menu, the folder picker, the `kith://` protocol, and
 * the engine started as a `utilityProcess` so indexing never stalls the window. Thin on
 * purpose: every decision worth testing lives in a small Electron-free module beside it
 * (protocol.ts, window-state.ts, engine-client.ts, ipc.ts, menu.ts); this file only wires
 * them to Electron. Tests load it only with a fake `electron` (test/electron-security.test.ts).
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, screen, session, shell, utilityProcess, type UtilityProcess } from 'electron';
import { join } from 'node:path';
import { EngineClient } from './engine-client.ts';
import { CHANNELS, isApiMethod, isAppSender, settle, type IpcReply } from './ipc.ts';
import { menuTemplate } from './menu.ts';
import { createProtocolHandler } from './protocol.ts';
import { allowExternal, allowNavigation, allowPermission } from './security.ts';
import { APP_URL, SCHEME } from './urls.ts';
import { loadWindowState, MIN_SIZE, saveWindowState } from './window-state.ts';
import { withLibuvThreads } from '../native/common/libuv-threads.ts';

// Must happen before `ready`: kith:// behaves like https (origin, fetch, secure context).
protocol.registerSchemesAsPrivileged([
  { scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, codeCache: true } },
]);

/** The app folder (the checkout in development, app.asar when packaged); builds land in dist/. */
const appRoot = app.getAppPath();
const paths = {
  preload: join(appRoot, 'dist', 'electron', 'preload.cjs'),
  engine: join(appRoot, 'dist', 'engine', 'engine-host.js'),
  renderer: join(appRoot, 'dist', 'renderer'),
  models: process.env.KITH_MODELS_DIR ?? (app.isPackaged ? join(process.resourcesPath, 'models') : join(appRoot, 'models', 'onnx')),
};

let win: BrowserWindow | null = null;
let engineProcess: UtilityProcess | null = null;
let quitting = false;
let engineStopped = false;
const restarts: number[] = [];

const engine = new EngineClient({
  onEvent: (event, data) => {
    if (win && !win.isDestroyed()) win.webContents.send(CHANNELS.event, { event, data });
  },
});

function startEngine(): void {
  const child = utilityProcess.fork(paths.engine, [], {
    serviceName: 'Kith engine',
    stdio: 'inherit',
    // No ONNX Runtime telemetry (device id, upload queue under ~/.cache/Microsoft): set before the engine starts.
    // libuv's pool is sized when the process first uses it: here, before it starts (common/libuv-threads.ts).
    env: withLibuvThreads({ ...process.env, KITH_MODELS_DIR: paths.models, ORT_DISABLE_TELEMETRY: '1' }),
  });
  engineProcess = child;
  engine.attach((msg) => child.postMessage(msg));
  child.on('message', (msg) => engine.receive(msg));
  child.on('exit', (code) => {
    if (engineProcess === child) engineProcess = null;
    engine.hostExited(`exit code ${code}`);
    if (quitting) return;
    // A crash restarts the engine, but not in a loop: at most 3 times a minute.
    const now = Date.now();
    while (restarts.length && now - restarts[0]! > 60_000) restarts.shift();
    if (restarts.length < 3) {
      restarts.push(now);
      setTimeout(startEngine, 1000);
    } else {
      dialog.showErrorBox('Kith', `The Kith engine keeps stopping (exit code ${code}). Quit Kith and start it again.`);
    }
  });
}

function createWindow(): void {
  const stateFile = join(app.getPath('userData'), 'window-state.json');
  const state = loadWindowState(
    stateFile,
    screen.getAllDisplays().map((d) => d.workArea),
  );
  const w = new BrowserWindow({
    width: state.width,
    height: state.height,
    x: state.x,
    y: state.y,
    minWidth: MIN_SIZE.width,
    minHeight: MIN_SIZE.height,
    show: false,
    title: 'Kith',
    webPreferences: {
      preload: paths.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      spellcheck: false,
    },
  });
  win = w;
  if (state.maximized) w.maximize();
  w.once('ready-to-show', () => w.show());

  let saveTimer: ReturnType<typeof setTimeout> | null = null;
  const save = () => {
    if (saveTimer) clearTimeout(saveTimer);
    saveTimer = null;
    if (!w.isDestroyed()) saveWindowState(stateFile, w.getNormalBounds(), w.isMaximized());
  };
  const saveSoon = () => {
    if (saveTimer) clearTimeout(saveTimer);
    saveTimer = setTimeout(save, 500);
  };
  w.on('resize', saveSoon);
  w.on('move', saveSoon);
  w.on('close', save);
  w.on('closed', () => {
    if (win === w) win = null;
  });

  void w.loadURL(APP_URL);
}

function registerIpc(): void {
  ipcMain.handle(CHANNELS.call, async (e, method: unknown, args: unknown): Promise<IpcReply> => {
    if (!isAppSender(e.senderFrame?.url)) return { ok: false, error: 'not allowed', user: true };
    if (!isApiMethod(method)) return { ok: false, error: `no API method "${String(method)}"`, user: true };
    if (!Array.isArray(args)) return { ok: false, error: 'args must be an array', user: true };
    return settle(engine.call(method, args));
  });
  ipcMain.handle(CHANNELS.pickFolder, async (e): Promise<string | null> => {
    if (!isAppSender(e.senderFrame?.url)) return null;
    const options = { title: 'Choose your photo folder', properties: ['openDirectory' as const] };
    const picked = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
    return picked.canceled ? null : (picked.filePaths[0] ?? null);
  });
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.focus();
  });

  // Every page Electron creates shows the app and nothing else: no new windows (a listed https
  // link opens in the user's browser instead), no navigation or redirect away, no <webview>.
  app.on('web-contents-created', (_e, contents) => {
    contents.setWindowOpenHandler(({ url }) => {
      if (allowExternal(url)) void shell.openExternal(url);
      return { action: 'deny' };
    });
    contents.on('will-navigate', (e, url) => {
      if (!allowNavigation(url)) e.preventDefault();
    });
    contents.on('will-redirect', (e, url) => {
      if (!allowNavigation(url)) e.preventDefault();
    });
    contents.on('will-attach-webview', (e) => e.preventDefault());
  });

  app.whenReady().then(() => {
    // No camera, microphone, notifications, geolocation...: only writing text to the clipboard,
    // and only for the app's own pages. Asked (request) and silently checked (check) alike.
    session.defaultSession.setPermissionRequestHandler((_wc, permission, callback, details) => callback(allowPermission(permission, details.requestingUrl)));
    session.defaultSession.setPermissionCheckHandler((_wc, permission, requestingOrigin) => allowPermission(permission, requestingOrigin));
    protocol.handle(SCHEME, createProtocolHandler({ rendererDir: paths.renderer, resource: (kind, id) => engine.resource(kind, id) }));
    Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(process.platform, app.getName())));
    registerIpc();
    startEngine();
    createWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow();
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  // Let the engine finish the photo in hand and close the library before the app goes.
  app.on('before-quit', (e) => {
    quitting = true;
    const child = engineProcess;
    if (engineStopped || !child) return;
    e.preventDefault();
    engineStopped = true;
    const kill = setTimeout(() => child.kill(), 10_000);
    engine
      .shutdown()
      .catch(() => child.kill())
      .finally(() => {
        clearTimeout(kill);
        app.quit();
      });
  });
}

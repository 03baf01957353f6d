/**
 * @file The sandboxed preload: exposes `window.kith` to the renderer through `contextBridge`
 * and nothing else. Shape (the renderer's IPC transport relies on it):
 *   call(method, args)    → Promise<result>; rejects with Error(message) (engine errors included)
 *   subscribe(listener)   → unsubscribe(); listener(event, data) for every engine event
 *   mediaUrl(kind, id)    → 'kith://thumb/<id>' | 'kith://photo/<id>'
 *   pickFolder()          → Promise<string | null>
 *   pathForFile(file)     → the filesystem path of a dropped File (a folder dropped on first run)
 * Built as one CommonJS file (sandboxed preloads cannot load ESM nor other files).
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { ApiMethod, KithEvents } from '../native/api/types.ts';
import { CHANNELS, isApiMethod, type IpcReply } from './ipc.ts';
import type { KithBridge, KithListener } from '../native/api/bridge.ts';
import { mediaUrl } from './urls.ts';

export type { KithBridge, KithListener };

/** The parts of Electron's preload modules used here (fakes in tests). */
export interface PreloadElectron {
  contextBridge: { exposeInMainWorld(key: string, api: unknown): void };
  webUtils: { getPathForFile(file: never): string };
  ipcRenderer: {
    invoke(channel: string, ...args: unknown[]): Promise<unknown>;
    on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
    removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  };
}

export function createKithBridge(ipc: PreloadElectron['ipcRenderer'], webUtils: PreloadElectron['webUtils']): KithBridge {
  return {
    async call(method, args = []) {
      if (!isApiMethod(method)) throw new Error(`no API method "${String(method)}"`);
      if (!Array.isArray(args)) throw new Error('args must be an array');
      const reply = (await ipc.invoke(CHANNELS.call, method, args)) as IpcReply;
      if (!reply.ok) throw new Error(reply.error);
      return reply.result;
    },
    subscribe(listener) {
      if (typeof listener !== 'function') throw new Error('subscribe needs a function');
      const handler = (_e: unknown, msg: unknown) => {
        const m = msg as { event?: keyof KithEvents; data?: KithEvents[keyof KithEvents] } | null;
        if (m && typeof m.event === 'string') listener(m.event, m.data as KithEvents[keyof KithEvents]);
      };
      ipc.on(CHANNELS.event, handler);
      return () => {
        ipc.removeListener(CHANNELS.event, handler);
      };
    },
    mediaUrl: (kind, id) => mediaUrl(kind, id),
    async pickFolder() {
      const folder = await ipc.invoke(CHANNELS.pickFolder);
      return typeof folder === 'string' ? folder : null;
    },
    pathForFile: (file) => webUtils.getPathForFile(file as never),
  };
}

export function exposeKith({ contextBridge, ipcRenderer, webUtils }: PreloadElectron): void {
  contextBridge.exposeInMainWorld('kith', createKithBridge(ipcRenderer, webUtils));
}

exposeKith({ contextBridge, webUtils, ipcRenderer: ipcRenderer as unknown as PreloadElectron['ipcRenderer'] });

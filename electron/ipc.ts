/**
 * @file The renderer ↔ main IPC contract, shared by preload and main: channel names, the
 * reply envelope (errors travel as data, because Electron rewrites errors thrown across
 * `ipcMain.handle`), and the checks main applies to every request before it reaches the engine.
 */
import { API_METHODS } from '../native/api/methods.ts';
import type { ApiMethod } from '../native/api/types.ts';
import { APP_ORIGIN } from './urls.ts';

export const CHANNELS = {
  call: 'kith:call',
  pickFolder: 'kith:pickFolder',
  event: 'kith:event',
} as const;

export type IpcReply = { ok: true; result: unknown } | { ok: false; error: string; user: boolean };

export function isApiMethod(method: unknown): method is ApiMethod {
  return typeof method === 'string' && (API_METHODS as readonly string[]).includes(method);
}

/** Only the app's own pages (kith://app/...) may talk to main. */
export function isAppSender(url: string | undefined | null): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}` === APP_ORIGIN;
  } catch {
    return false;
  }
}

/** Await an engine call and wrap the outcome for the trip back to the renderer. */
export async function settle(work: Promise<unknown>): Promise<IpcReply> {
  try {
    return { ok: true, result: (await work) ?? null };
  } catch (err) {
    const e = err as { message?: unknown; user?: unknown };
    return { ok: false, error: typeof e?.message === 'string' ? e.message : String(err), user: e?.user === true };
  }
}

/**
 * @file The window's security decisions, Electron-free so they are tested as written (main.ts
 * only wires them to Electron's hooks). Following Electron's security checklist: the page may
 * use no browser permission but writing text to the clipboard, it never navigates or opens a
 * window away from the app's own origin, and a link opens in the user's browser only when its
 * origin is on an explicit list.
 */
import { isAppSender } from './ipc.ts';

/**
 * Browser permissions the app may use. Everything else (camera, microphone, geolocation,
 * notifications, MIDI, HID/USB/serial, screen capture, fullscreen by the page, persistent
 * storage, clipboard reading...) is refused, asked or merely checked.
 */
export const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write']);

/**
 * Origins a link may open in the user's browser (shell.openExternal). Kith links nowhere today:
 * a future link (a help page, a model's licence) adds its https origin here, and nothing else opens.
 */
export const EXTERNAL_ORIGINS: readonly string[] = [];

/** Whether a permission asked or checked by `requestingUrl` (a URL or an origin) is granted. */
export function allowPermission(permission: string, requestingUrl: string | undefined | null): boolean {
  return ALLOWED_PERMISSIONS.has(permission) && isAppSender(requestingUrl);
}

/** Whether the window may navigate to `url`: only within the app itself (kith://app/…). */
export function allowNavigation(url: string): boolean {
  return isAppSender(url);
}

/** Whether `url` may be handed to the operating system's browser: https, and an allowed origin. */
export function allowExternal(url: string, origins: readonly string[] = EXTERNAL_ORIGINS): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return u.protocol === 'https:' && u.username === '' && u.password === '' && origins.includes(u.origin);
}

/**
 * @file The window remembers its size and place: a small JSON file in the app's userData
 * folder. Reading never fails: a missing, corrupt or off-screen record gives the defaults.
 * Pure file I/O; main passes the path and the displays' work areas.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState {
  /** Size in device-independent pixels; position only when it was known and is on a screen. */
  width: number;
  height: number;
  x?: number;
  y?: number;
  maximized: boolean;
}

export const DEFAULT_STATE: WindowState = { width: 1280, height: 820, maximized: false };
export const MIN_SIZE = { width: 720, height: 480 };
const MAX_SIDE = 16384;

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** True when at least a 100×50 corner of the window's title area lies on one of the work areas. */
function visibleOn(x: number, y: number, width: number, areas: Rect[]): boolean {
  return areas.some((a) => {
    const w = Math.min(x + width, a.x + a.width) - Math.max(x, a.x);
    const h = Math.min(y + 50, a.y + a.height) - Math.max(y, a.y);
    return w >= 100 && h >= 50;
  });
}

/**
 * The saved state checked and clamped: sizes within [MIN_SIZE, 16384] and within the largest
 * work area when one is given; the position dropped when it is not on any work area (a
 * monitor was unplugged), so the window manager centres the window.
 */
export function sanitizeState(raw: unknown, workAreas: Rect[] = []): WindowState {
  if (typeof raw !== 'object' || raw === null) return { ...DEFAULT_STATE };
  const r = raw as Record<string, unknown>;
  if (!finite(r.width) || !finite(r.height)) return { ...DEFAULT_STATE };
  const maxW = workAreas.length ? Math.max(MIN_SIZE.width, ...workAreas.map((a) => a.width)) : MAX_SIDE;
  const maxH = workAreas.length ? Math.max(MIN_SIZE.height, ...workAreas.map((a) => a.height)) : MAX_SIDE;
  const width = Math.round(Math.min(Math.max(r.width, MIN_SIZE.width), maxW));
  const height = Math.round(Math.min(Math.max(r.height, MIN_SIZE.height), maxH));
  const state: WindowState = { width, height, maximized: r.maximized === true };
  if (finite(r.x) && finite(r.y) && (workAreas.length === 0 || visibleOn(r.x, r.y, width, workAreas))) {
    state.x = Math.round(r.x);
    state.y = Math.round(r.y);
  }
  return state;
}

export function loadWindowState(file: string, workAreas: Rect[] = []): WindowState {
  try {
    return sanitizeState(JSON.parse(readFileSync(file, 'utf8')), workAreas);
  } catch {
    return { ...DEFAULT_STATE };
  }
}

/** Write atomically (temp file + rename), so a crash mid-write never leaves a torn file. */
export function saveWindowState(file: string, bounds: Rect, maximized: boolean): void {
  const state: WindowState = { width: bounds.width, height: bounds.height, x: bounds.x, y: bounds.y, maximized };
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, file);
}

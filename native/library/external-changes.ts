/**
 * @file Changes another process made to the library (`kith name` in a terminal while the app
 * is open, a second window's engine): SQLite's `data_version` moves whenever another
 * connection commits, and only then, so reading it every second costs next to nothing and
 * never fires for this engine's own writes (those send their own events).
 */
import type { Db } from '../store/db.ts';

export const POLL_MS = 1000;

/** Call `changed` after another connection commits; the returned function stops it. */
export function onExternalCommits(db: Db, changed: () => void, everyMs = POLL_MS): () => void {
  const version = () => db.pragma('data_version', { simple: true }) as number;
  let last = version();
  const timer = setInterval(() => {
    if (!db.open) return;
    const now = version();
    if (now !== last) {
      last = now;
      changed();
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * @file What `kith index` shows while it runs and when it ends: the progress bar (photos,
 * faces, rate, time left, errors), the summary, and what an interrupted run (Ctrl+C) means for
 * the user: nothing is lost and the next run carries on. Kept apart from cli.ts so the wording
 * is tested on its own.
 */
import cliProgress from 'cli-progress';
import type { IndexProgress, IndexSummary } from '../indexing/indexer.ts';

/** A duration for people: 45s, 7m16s, 2h05m; '--' while unknown. */
export function formatDuration(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec) || sec < 0) return '--';
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A path or flag as the user can paste it back into a POSIX shell. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface ProgressBar {
  update(p: IndexProgress): void;
  stop(): void;
  /** The last photo counts shown, for the summary of an interrupted run. */
  readonly last: { done: number; total: number } | null;
}

/**
 * The indexing bar on `stream` (stderr, so stdout stays clean for pipes). Not a terminal: a
 * line every 5 s instead of redrawing.
 */
export function progressBar(stream: NodeJS.WritableStream = process.stderr): ProgressBar {
  const bar = new cliProgress.SingleBar(
    {
      // {remaining}, not {eta}: cli-progress fills {eta} itself, with raw seconds ("ETA 436").
      format: ' {bar} {value}/{total} photos | {faces} faces | {rate} photos/s | ETA {remaining} | {errors} errors',
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      stream,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  let last: { done: number; total: number } | null = null;
  return {
    update(p) {
      if (stopped || (p.phase !== 'indexing' && p.phase !== 'reembedding')) return;
      last = { done: p.done, total: p.total };
      const payload = { faces: p.faces, rate: p.photosPerSec.toFixed(1), remaining: formatDuration(p.etaSec), errors: p.errors };
      if (!started) {
        bar.start(p.total, p.done, payload);
        started = true;
      } else bar.update(p.done, payload);
    },
    stop() {
      if (started && !stopped) bar.stop();
      stopped = true;
    },
    get last() {
      return last;
    },
  };
}

/** Said at once on the first Ctrl+C, while the photos in hand are finished and saved. */
export const STOPPING_NOTICE = 'Stopping after the photos in hand (Ctrl+C again stops at once; nothing is lost either way)…';

/**
 * The end-of-run summary. An interrupted run says so, how far it got, and the command that
 * carries on (`resume`: the same `kith index …` the user ran).
 */
export function summaryText(s: IndexSummary, resume: string, reached: { done: number; total: number } | null): string {
  const secs = s.wallMs / 1000;
  const lines = [
    `${s.interrupted ? "Interrupted after" : "Done in"} ${formatDuration(secs)} on ${s.provider} with ${s.modelId}.`,
    `  ${s.scanned} photos found: ${s.indexed} indexed, ${s.unchanged} unchanged, ${s.moved} moved, ${s.removed} removed, ${s.reembedded} re-embedded`,
    `  ${s.faces} faces found, ${s.errors} errors${s.errors ? ' (see `kith errors`)' : ''}`,
  ];
  // Said only when they happened: each explains a number above that would otherwise surprise.
  const kept = [
    s.touched > 0 ? `${s.touched} touched but unchanged (names kept)` : '',
    s.copies > 0 ? `${s.copies} ${s.copies === 1 ? 'copy' : 'copies'} of photos already here (faces counted once)` : '',
    s.thumbsRebuilt > 0 ? `${s.thumbsRebuilt} face thumbnails made again` : '',
  ].filter(Boolean);
  if (kept.length > 0) lines.push(`  ${kept.join(', ')}`);
  if (s.indexed > 0 && secs > 0) lines.push(`  ${(s.indexed / secs).toFixed(1)} photos/s`);
  if (s.interrupted) {
    const where = reached ? ` at ${reached.done} of ${reached.total} photos` : '';
    lines.push(`Indexing was interrupted${where}. Everything indexed so far is saved; run \`${resume}\` again and it resumes where it stopped.`);
  }
  return lines.join('\n');
}

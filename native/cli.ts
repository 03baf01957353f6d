/**
 * @file The `kith` command line: index a folder with a live progress bar, and report on
 * the library. A thin shell over the engine; every number it prints comes from the store.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { indexFolder, type IndexProgress, type IndexSummary } from './indexer.ts';
import { defaultDbPath } from './library-path.ts';
import type { DeviceChoice } from './runtime.ts';
import { Store } from './store/index.ts';

const USAGE = `kith: finds the people in your photos

  kith index <folder> [--db FILE] [--device cpu|gpu|auto] [--embedder ensemble|sirius|fr-feature]
  kith stats [--db FILE] [--json]
  kith errors [--db FILE]

The library database defaults to ${defaultDbPath()} (or $KITH_DB).`;

function openStore(db: string | undefined): Store {
  const path = db ?? defaultDbPath();
  mkdirSync(dirname(path), { recursive: true });
  return new Store(path);
}

function fmtEta(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec)) return '--:--';
  const s = Math.round(sec);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function progressBar() {
  const bar = new cliProgress.SingleBar(
    {
      format: ' {bar} {value}/{total} photos | {faces} faces | {rate} photos/s | ETA {eta} | {errors} errors',
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p: IndexProgress) {
      if (p.phase !== 'indexing' && p.phase !== 'reembedding') return;
      const payload = { faces: p.faces, rate: p.photosPerSec.toFixed(1), eta: fmtEta(p.etaSec), errors: p.errors };
      if (!started) {
        bar.start(p.total, p.done, payload);
        started = true;
      } else bar.update(p.done, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function printSummary(s: IndexSummary): void {
  const secs = s.wallMs / 1000;
  console.log(
    [
      `${s.interrupted ? 'Stopped' : 'Done'} in ${secs.toFixed(1)} s on ${s.provider} with ${s.modelId}.`,
      `  ${s.scanned} photos found: ${s.indexed} indexed, ${s.unchanged} unchanged, ${s.moved} moved, ${s.removed} removed, ${s.reembedded} re-embedded`,
      `  ${s.faces} faces found, ${s.errors} errors${s.errors ? ' (see `kith errors`)' : ''}`,
      s.indexed > 0 ? `  ${(s.indexed / secs).toFixed(1)} photos/s` : '',
    ]
      .filter(Boolean)
      .join('\n'),
  );
}

async function runIndex(folder: string, db: string | undefined, device: DeviceChoice, embedder: string | undefined): Promise<number> {
  const store = openStore(db);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const bar = progressBar();
  try {
    const summary = await indexFolder(store, folder, {
      device,
      embedder,
      signal: controller.signal,
      onProgress: (p) => bar.update(p),
      notice: (line) => console.error(`kith: ${line}`),
    });
    bar.stop();
    console.log(`Using ${summary.provider} execution provider.`);
    printSummary(summary);
    return summary.interrupted ? 130 : 0;
  } finally {
    bar.stop();
    store.close();
  }
}

function runStats(db: string | undefined, json: boolean): number {
  const store = openStore(db);
  try {
    const photos = store.photos.countByStatus();
    const stats = {
      db: store.path,
      root: store.meta('root') ?? null,
      photos: photos.done + photos.error + photos.pending,
      photosIndexed: photos.done,
      errors: photos.error,
      faces: store.faces.total(),
      models: store.faces.modelCounts(),
      lastRun: store.runs.latest() ?? null,
    };
    if (json) console.log(JSON.stringify(stats, null, 2));
    else {
      console.log(`Library ${stats.db}${stats.root ? ` (${stats.root})` : ''}`);
      console.log(`  ${stats.photos} photos (${stats.photosIndexed} indexed, ${stats.errors} errors), ${stats.faces} faces`);
      for (const m of stats.models) console.log(`  ${m.n} faces embedded with ${m.modelId}`);
      const r = stats.lastRun;
      if (r) console.log(`  last run #${r.id} ${r.status} on ${r.provider}, started ${r.startedAt} UTC`);
    }
    return 0;
  } finally {
    store.close();
  }
}

function runErrors(db: string | undefined): number {
  const store = openStore(db);
  try {
    const rows = store.photos.errors();
    if (rows.length === 0) console.log('No errors.');
    for (const r of rows) console.log(`${r.path}\n  ${r.error}`);
    return 0;
  } finally {
    store.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      device: { type: 'string', default: 'auto' },
      embedder: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  const device = values.device as DeviceChoice;
  if (!['cpu', 'gpu', 'auto'].includes(device)) throw new Error(`--device must be cpu, gpu or auto (got ${device})`);
  switch (command) {
    case 'index':
      if (rest.length !== 1) throw new Error('usage: kith index <folder>');
      return runIndex(rest[0]!, values.db, device, values.embedder);
    case 'stats':
      return runStats(values.db, values.json);
    case 'errors':
      return runErrors(values.db);
    default:
      throw new Error(`unknown command "${command}"\n\n${USAGE}`);
  }
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(`kith: ${err.message}`);
      process.exit(1);
    },
  );
}

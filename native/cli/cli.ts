/**
 * @file The `kith` command line: index a folder with a live progress bar, and report on
 * the library. A thin shell over the engine's one API (`KithEngine.client()`): every command
 * is API calls, printed for a terminal.
 */
import '../pipeline/no-telemetry.ts';
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KithEngine, type EngineOptions, type KithClient } from '../api/api.ts';
import type { LibraryStats, PhotoError } from '../api/types.ts';
import { runAsProcess } from './exit.ts';
import { runPeopleCommand } from './people.ts';
import { progressBar, shellWord, STOPPING_NOTICE, summaryText } from './index-report.ts';
import { UserError } from '../common/user-error.ts';
import { REPO_ROOT } from '../pipeline/runtime.ts';
import { libraryToken } from '../api/serve-token.ts';
import { startServer } from '../api/serve.ts';
import { defaultDbPath } from '../store/library-path.ts';
import type { DeviceChoice } from '../pipeline/runtime.ts';

const USAGE = `kith: finds the people in your photos

  kith index <folder> [--device cpu|gpu|auto] [--embedder ensemble|sirius|fr-feature] [--verify]
                                        (--verify: re-read every file, not only those whose size or time changed)
  kith add <folder>                     add another folder to the library, and index it
  kith remove <folder>                  take a folder out of the library (its photos and faces; names stay)
  kith folders                          the library's folders
  kith stats [--json]                   photos, faces, errors, models
  kith errors                           photos that could not be read, and why
  kith people [--all]                   people, named first (--all: hidden ones too)
  kith name <person> <name>             name or rename a person
  kith merge <from> <into> [--as NAME]  merge a person into another
  kith move <face>... <person|new>      move faces to a person (or a new one)
  kith reject <face> <person>           "not this person"
  kith undo                             undo the last people operation
  kith suggest                          naming suggestions, and "same person?" questions
  kith apart <person> <person>          "not the same person": never join them, never ask again
  kith search <photo|face id>           most similar faces, and whose they are
  kith cluster [--full]                 group new faces into people (--full: everything again)
  kith export --json                    every face with its photo, box, person and state
  kith export --xmp [--sidecar jpg.xmp|xmp]
                                        names of named people's faces into XMP sidecars
                                        (photo.jpg.xmp, or photo.xmp); photos are never written
  kith serve [--port N] [--new-token]   the Kith UI in your browser, on this computer only

<person> is an id or a name. Every command takes --db FILE.

The library database defaults to ${defaultDbPath()} (or $KITH_DB).`;

/** The library at `--db` (else the per-user default), through the one API. */
function openEngine(db: string | undefined, opts: EngineOptions = {}): KithEngine {
  // Belt and braces: whatever this process writes is the user's alone (library files set 0600 themselves).
  process.umask(0o077);
  const path = db ?? defaultDbPath();
  return KithEngine.open(path, { ...opts, kithsOwnFolder: path === defaultDbPath({ ...process.env, KITH_DB: undefined }) });
}

async function withEngine(db: string | undefined, opts: EngineOptions, command: (api: KithClient, engine: KithEngine) => Promise<number>): Promise<number> {
  const engine = openEngine(db, opts);
  try {
    return await command(engine.client(), engine);
  } finally {
    await engine.close();
  }
}

async function runIndex(folder: string, db: string | undefined, device: DeviceChoice, embedder: string | undefined, verify = false): Promise<number> {
  const bar = progressBar();
  const notice = (line: string) => console.error(`kith: ${line}`);
  return withEngine(db, { device, embedder, notice }, async (api, engine) => {
    // The first Ctrl+C finishes the photos in hand and saves them; with this listener gone, a
    // second one gets Node's default and ends the process at once (SQLite keeps every saved batch).
    const stop = () => {
      bar.stop();
      console.error(STOPPING_NOTICE);
      void api.pauseIndex();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const off = engine.on('progress', (p) => p.phase !== 'clustering' && p.phase !== 'done' && bar.update(p));
    const resume = ['kith', 'index', folder, ...(db ? ['--db', db] : []), ...(device !== 'auto' ? ['--device', device] : []), ...(embedder ? ['--embedder', embedder] : [])];
    try {
      const { summary, clustering } = await api.indexNow(folder, verify);
      bar.stop();
      console.log(`Using ${summary.provider} execution provider.`);
      console.log(summaryText(summary, resume.map(shellWord).join(' '), bar.last));
      if (summary.interrupted || !clustering) return 130;
      // The people the People screen and `kith people` count: not the groups under Maybe, nor hidden ones.
      const { people, unassignedFaces } = await api.status();
      console.log(`  ${people} people, ${unassignedFaces} faces not yet in a person`);
      return 0;
    } finally {
      off();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      bar.stop();
    }
  });
}

function printStats(stats: LibraryStats, json: boolean): void {
  if (json) return console.log(JSON.stringify(stats, null, 2));
  console.log(`Library ${stats.db}${stats.root ? ` (${stats.root})` : ''}`);
  console.log(`  ${stats.photos} photos (${stats.photosIndexed} indexed, ${stats.errors} errors), ${stats.faces} faces`);
  if (stats.duplicates > 0) console.log(`  ${stats.duplicates} duplicate files (same content as a photo above; faces counted once)`);
  for (const m of stats.models) console.log(`  ${m.n} faces embedded with ${m.modelId}`);
  const n = stats.importedNames;
  if (n.regions > 0) {
    console.log(
      `  ${n.regions} named face regions imported from photo metadata: ${n.named} matched a face, ${n.unmatched} unmatched` +
        `${n.conflict ? `, ${n.conflict} conflicting` : ''}${n.kept ? `, ${n.kept} left as decided in Kith` : ''}`,
    );
  }
  const r = stats.lastRun;
  if (r) console.log(`  last run #${r.id} ${r.status} on ${r.provider}, started ${r.startedAt} UTC`);
}

function printErrors(rows: readonly PhotoError[]): void {
  if (rows.length === 0) console.log('No errors.');
  for (const r of rows) console.log(`${r.path}\n  ${r.error}`);
}

/** The built browser UI, or null with what to run printed: `kith serve` never starts without its UI. */
function builtRenderer(): string | null {
  const dir = join(REPO_ROOT, 'dist', 'renderer');
  if (existsSync(join(dir, 'index.html'))) return dir;
  console.error(`kith serve: the browser interface is not built (${join(dir, 'index.html')} is missing).`);
  console.error('Build it once with:');
  console.error(`  cd ${JSON.stringify(REPO_ROOT)} && npm run build:renderer`);
  console.error('(npm install does this too), then run kith serve again.');
  return null;
}

function parsePort(port: string | undefined): number | undefined {
  if (port === undefined) return undefined;
  const n = Number(port);
  if (!/^\d{1,5}$/.test(port) || n > 65535) throw new Error(`--port must be a number from 0 to 65535 (got ${port})`);
  return n;
}

/** `kith serve`: the UI in a browser, on loopback only, until Ctrl+C. */
async function runServe(db: string | undefined, device: DeviceChoice, embedder: string | undefined, port: string | undefined, rotate: boolean): Promise<number> {
  const listenPort = parsePort(port);
  const staticDir = builtRenderer();
  if (!staticDir) return 1;
  const engine = openEngine(db, { device, embedder, notice: (l) => console.error(`kith: ${l}`) });
  const kept = libraryToken(engine.dbPath, { rotate });
  const server = await startServer(engine, { port: listenPort, staticDir, token: kept.token });
  // While it runs, new and changed photos in the library's folders are indexed as they come.
  engine.watchLibrary().catch((err: Error) => console.error(`kith: cannot watch the library folders: ${err.message}`));
  console.log(`Kith is running at ${server.url}`);
  console.log('Open that address in your browser (it works on this computer only). Ctrl+C stops.');
  if (rotate) console.log('This is a new token: older links and bookmarks no longer work.');
  console.log(`The address stays the same when Kith restarts (its token is kept in ${kept.file}); \`kith serve --new-token\` replaces it.`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await engine.close();
  await server.close();
  return 0;
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
      all: { type: 'boolean', default: false },
      full: { type: 'boolean', default: false },
      as: { type: 'string' },
      port: { type: 'string' },
      'new-token': { type: 'boolean', default: false },
      verify: { type: 'boolean', default: false },
      xmp: { type: 'boolean', default: false },
      sidecar: { type: 'string' },
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
      return runIndex(rest[0]!, values.db, device, values.embedder, values.verify);
    case 'stats':
      return withEngine(values.db, {}, async (api) => (printStats(await api.stats(), values.json), 0));
    case 'errors':
      return withEngine(values.db, {}, async (api) => (printErrors(await api.errors()), 0));
    case 'add':
      if (rest.length !== 1) throw new Error('usage: kith add <folder>');
      await withEngine(values.db, {}, async (api) => (await api.addFolder(rest[0]!), 0));
      return runIndex(rest[0]!, values.db, device, values.embedder);
    case 'remove':
      if (rest.length !== 1) throw new Error('usage: kith remove <folder>');
      return withEngine(values.db, {}, async (api) => {
        const r = await api.removeFolder(rest[0]!);
        console.log(`Removed ${rest[0]} from the library: ${r.photos} photos, ${r.faces} faces. Names stay with the people's other faces.`);
        return 0;
      });
    case 'folders':
      return withEngine(values.db, {}, async (api) => {
        const folders = await api.folders();
        if (folders.length === 0) console.log('No folders yet: kith index <folder> (or kith add <folder>) adds one.');
        for (const f of folders) console.log(`${f.path}  (${f.photos} photos)`);
        return 0;
      });
    case 'serve':
      return runServe(values.db, device, values.embedder, values.port, values['new-token']);
    default:
      try {
        return await withEngine(values.db, { device, embedder: values.embedder }, (api) => runPeopleCommand(api, command, rest, values));
      } catch (err) {
        if (err instanceof UserError && err.message.startsWith('unknown command')) throw new Error(`${err.message}\n\n${USAGE}`);
        throw err;
      }
  }
}

/** `kith …` as the whole process (bin/kith.js and `npm run kith`): exits once its output is delivered. */
export const run = (argv: string[]): Promise<void> => runAsProcess(() => main(argv));

if (process.argv[1] && import.meta.filename === process.argv[1]) void run(process.argv.slice(2));

/**
 * @file Fixture libraries that several test files need already indexed, indexed once and shared.
 * node --test runs each test file in its own process, so an indexed library is kept in a cache
 * folder under the OS temp folder, named by a hash of everything that could change it (the
 * photos, the engine's sources, the models, the locked dependencies, this file). One process
 * builds it, with the real `kith index`, while the others wait on its lock file. Each caller gets
 * its own copy (photos, database, HNSW index, thumbnails), with the photo paths moved to the
 * copy, so tests never share a library. Tests of indexing itself index for real instead.
 */
import { createHash } from 'node:crypto';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDb } from '../native/store/db.ts';
import { libraryFiles } from '../native/store/library-files.ts';
import { FACES, REPO, copyFaces, facesIn, listFiles, runCli, tempDir } from './helpers.ts';
import { makeMaybeLibrary } from './maybe-fixture.ts';

interface FixtureSpec {
  /** Put the library's photos in `library`. */
  fill(library: string): Promise<unknown>;
  /** The files, besides the engine, that the library is made from. */
  inputs(): string[];
  /** `kith index` arguments besides the folder and --db. */
  args: string[];
}

const bbtPhotos = () => facesIn('portraits/faceapi-bbt').map((rel) => join(FACES, rel));

/** The libraries on offer. */
const FIXTURES = {
  /** The eight Big Bang Theory characters, five portraits each (40 photos), default embedder. */
  bbt: {
    fill: async (library) => copyFaces(library, facesIn('portraits/faceapi-bbt')),
    inputs: bbtPhotos,
    args: ['--device', 'cpu'],
  },
  /** The same portraits with the small sirius embedder, as `kith index --embedder sirius` makes them. */
  'bbt-sirius': {
    fill: async (library) => copyFaces(library, facesIn('portraits/faceapi-bbt')),
    inputs: bbtPhotos,
    args: ['--device', 'cpu', '--embedder', 'sirius'],
  },
  /** Every portrait (129 photos: the BBT characters and other people), default embedder. */
  portraits: {
    fill: async (library) => copyFaces(library, facesIn('portraits')),
    inputs: () => facesIn('portraits').map((rel) => join(FACES, rel)),
    args: ['--device', 'cpu'],
  },
  /** maybe-fixture.ts: seven characters, and Stuart once clearly and once small in a crowd. */
  maybe: {
    fill: makeMaybeLibrary,
    inputs: () => [...bbtPhotos(), join(REPO, 'test', 'maybe-fixture.ts')],
    args: ['--device', 'cpu'],
  },
} satisfies Record<string, FixtureSpec>;

export type FixtureName = keyof typeof FIXTURES;

export interface IndexedCopy {
  /** A fresh folder holding the two below, removed when the test process exits. */
  dir: string;
  /** The copy's photo folder (the library's root). */
  library: string;
  /** The copy's database; its HNSW index and thumbnails lie beside it. */
  db: string;
}

/** What a cache entry says about itself (written last, so its presence means complete). */
interface Ready {
  library: string;
  db: string;
  /** Where the library was when it was indexed: the paths its database holds. */
  builtAt: string;
}

const CACHE = process.env.KITH_TEST_CACHE ?? join(tmpdir(), 'kith-test-cache');
/** Building a library takes well under a minute; a lock held longer than this is a hung builder. */
const BUILD_DEADLINE_MS = 15 * 60_000;
const READY = 'ready.json';
/** An entry of an older build unused this long is removed (a portraits entry is 30 MB). */
const UNUSED_MS = 10 * 60_000;

/** The cache folder that holds the fixture library `name` as the sources are now. */
export function fixtureCacheEntry(name: FixtureName, cache = CACHE): string {
  return join(cache, `${name}-${fixtureKey(name, FIXTURES[name])}`);
}

/** A fresh copy of the fixture library `name`, indexed (and clustered) by `kith index`. */
export async function indexedFixtureCopy(name: FixtureName): Promise<IndexedCopy> {
  const spec: FixtureSpec = FIXTURES[name];
  const entry = fixtureCacheEntry(name);
  const ready = await buildOnce(entry, spec);
  pruneOthers(name, entry);
  const now = new Date();
  utimesSync(entry, now, now); // recently used: kept by the pruning below
  const dir = tempDir(`kith-${name}-`);
  const copy: IndexedCopy = { dir, library: join(dir, 'Photos'), db: join(dir, 'library.db') };
  cpSync(ready.library, copy.library, { recursive: true, preserveTimestamps: true });
  const from = libraryFiles(ready.db);
  const to = libraryFiles(copy.db);
  for (const key of ['db', 'hnsw', 'hnswSidecar', 'thumbs'] as const) {
    if (existsSync(from[key])) cpSync(from[key], to[key], { recursive: true, preserveTimestamps: true });
  }
  from.sqlite.forEach((file, i) => existsSync(file) && cpSync(file, to.sqlite[i]!));
  movePhotoPaths(copy.db, ready.builtAt, copy.library);
  return copy;
}

/** Everything that could change the indexed library, hashed. */
function fixtureKey(name: string, spec: FixtureSpec): string {
  const hash = createHash('sha256').update(`${name}\0${spec.args.join('\0')}\0${process.version}\0`);
  const engine = listFiles(join(REPO, 'native')).filter((p) => p.endsWith('.ts'));
  const files = [
    ...spec.inputs(),
    ...engine,
    join(REPO, 'models', 'onnx', 'manifest.json'),
    join(REPO, 'package-lock.json'),
    join(REPO, 'test', 'indexed-fixture.ts'),
    join(REPO, 'test', 'helpers.ts'),
  ];
  for (const file of files) hash.update(`${relative(REPO, file)}\0`).update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/**
 * The cache entry at `entry`, built by this process unless another one is building it (then
 * wait for it). A builder builds in a folder of its own and renames it into place, which is
 * atomic, so a crashed builder leaves no half entry and two builders cannot mix theirs.
 */
async function buildOnce(entry: string, spec: FixtureSpec): Promise<Ready> {
  const lock = `${entry}.lock`;
  const deadline = Date.now() + BUILD_DEADLINE_MS;
  mkdirSync(CACHE, { recursive: true });
  for (;;) {
    const ready = readReady(entry);
    if (ready) return ready;
    if (takeLock(lock)) {
      try {
        return readReady(entry) ?? (await build(entry, spec));
      } finally {
        rmSync(lock, { force: true });
      }
    }
    const holder = lockHolder(lock);
    if (holder === null && emptyFor(lock, 60_000)) rmSync(lock, { force: true }); // its builder died before writing its pid
    else if (holder !== null && !alive(holder)) {
      // Its builder died. Should another waiter take the lock between the read and this removal,
      // two builds run at once: wasted work, no harm, as the rename into place is atomic.
      if (lockHolder(lock) === holder) rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`the fixture library ${entry} was not built within ${BUILD_DEADLINE_MS / 60_000} minutes (lock ${lock})`);
    await sleep(250); // another process is building it: look again for its ready file
  }
}

function readReady(entry: string): Ready | null {
  try {
    return JSON.parse(readFileSync(join(entry, READY), 'utf8')) as Ready;
  } catch {
    return null;
  }
}

function takeLock(lock: string): boolean {
  try {
    const fd = openSync(lock, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** The pid in the lock file; null when there is none (released, or not written yet). */
function lockHolder(lock: string): number | null {
  try {
    const pid = Number(readFileSync(lock, 'utf8'));
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Whether `lock` exists, holds no pid, and has done so for `ms`. */
function emptyFor(lock: string, ms: number): boolean {
  try {
    return lockHolder(lock) === null && Date.now() - statSync(lock).mtimeMs > ms;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function build(entry: string, spec: FixtureSpec): Promise<Ready> {
  const staging = `${entry}.build-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const library = join(staging, 'Photos');
  const db = join(staging, 'library.db');
  mkdirSync(library, { recursive: true });
  await spec.fill(library);
  process.stderr.write(`indexing the fixture library ${entry} (once: later test files copy it)\n`);
  const r = await runCli(['index', library, '--db', db, ...spec.args]);
  if (r.code !== 0) throw new Error(`kith index of the fixture library failed (${r.code}):\n${r.stderr}`);
  const ready: Ready = { library: join(entry, 'Photos'), db: join(entry, 'library.db'), builtAt: library };
  writeFileSync(join(staging, READY), JSON.stringify(ready));
  try {
    renameSync(staging, entry);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && readReady(entry)) return readReady(entry)!; // another builder was first
    throw err;
  }
  return ready;
}

/**
 * Entries of the same fixture built from other sources (an engine edited since), unused for
 * `UNUSED_MS` (a test run of another checkout may still be copying one), go; so do the folders
 * of builders that died.
 */
function pruneOthers(fixture: string, entry: string): void {
  const old = new RegExp(`^${fixture}-[0-9a-f]{16}$`);
  const orphan = new RegExp(`^${fixture}-[0-9a-f]{16}\\.build-(\\d+)$`);
  for (const name of readdirSync(CACHE)) {
    const path = join(CACHE, name);
    const builder = orphan.exec(name)?.[1];
    try {
      if (builder ? !alive(Number(builder)) : path !== entry && old.test(name) && Date.now() - statSync(path).mtimeMs > UNUSED_MS) {
        rmSync(path, { recursive: true, force: true });
      }
    } catch {
      // another process pruned it first
    }
  }
}

/**
 * Point the copy's rows at its own photos: the folder it was indexed in (a path no other text
 * holds) is replaced by the copy's wherever a text column holds it, in whatever table the schema
 * keeps paths (photos, runs, the library's folders, ...).
 */
function movePhotoPaths(dbPath: string, built: string, to: string): void {
  const db = openDb(dbPath);
  try {
    db.transaction(() => {
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%'`).all() as Array<{ name: string }>;
      for (const { name } of tables) {
        for (const { name: column } of db.prepare(`SELECT name FROM pragma_table_info(?)`).all(name) as Array<{ name: string }>) {
          db.prepare(`UPDATE "${name}" SET "${column}" = replace("${column}", ?, ?) WHERE typeof("${column}") = 'text' AND instr("${column}", ?) > 0`).run(built, to, built);
        }
      }
      const stray = db.prepare(`SELECT count(*) AS n FROM photos WHERE substr(path, 1, ?) != ?`).get(to.length + 1, `${to}${sep}`) as { n: number };
      if (stray.n > 0) throw new Error(`${stray.n} photo paths of the fixture are not under ${built}`);
    })();
  } finally {
    db.close();
  }
}

/**
 * @file Opens the library database: WAL so readers never block the indexer, foreign keys
 * on, and migrations applied in one transaction so a kill mid-upgrade leaves the old schema.
 * The file is created 0600 before SQLite opens it, so its -wal and -shm (which SQLite creates
 * with the database's mode) are private too; an older library's files are made private here.
 */
import Database from 'better-sqlite3';
import { createPrivateFile, secureLibraryFiles } from './library-files.ts';
import { MIGRATIONS } from './migrations.ts';

export type Db = Database.Database;

export function openDb(path: string, options: { readonly?: boolean } = {}): Db {
  const readonly = options.readonly ?? false;
  if (!readonly && path !== ':memory:') {
    createPrivateFile(path);
    secureLibraryFiles(path);
  }
  const db = new Database(path, { readonly, fileMustExist: readonly });
  db.pragma('busy_timeout = 5000');
  if (!readonly) {
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is durable against process kills (only power loss can drop the last commits).
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('foreign_keys = ON');
  if (!readonly) migrate(db);
  return db;
}

function migrate(db: Db): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  const check = (current: number) => {
    if (current > MIGRATIONS.length) {
      throw new Error(`library was written by a newer Kith (schema ${current}, this build knows ${MIGRATIONS.length})`);
    }
  };
  check(version());
  if (version() === MIGRATIONS.length) return;
  // IMMEDIATE, and the version read again inside: two processes opening a new library at once
  // must not both run the migrations (the second waits, then finds nothing left to do).
  db.transaction(() => {
    const current = version();
    check(current);
    for (let v = current; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

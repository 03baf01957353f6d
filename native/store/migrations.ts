/**
 * @file Schema history. Each entry moves the database from version i to i+1 (PRAGMA
 * user_version); entries are never edited once released, only appended.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  CREATE TABLE photos (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    path        TEXT NOT NULL UNIQUE,
    size        INTEGER NOT NULL,
    mtime_ms    INTEGER NOT NULL,
    hash        TEXT,
    width       INTEGER,
    height      INTEGER,
    format      TEXT,
    taken_at    TEXT,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'done', 'error')),
    error       TEXT,
    indexed_at  TEXT,
    run_id      INTEGER
  );
  CREATE INDEX photos_hash ON photos (hash);
  CREATE INDEX photos_status ON photos (status);
  -- AUTOINCREMENT: a deleted face's id is never given to a new face, so decisions about it cannot leak.
  CREATE TABLE faces (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    photo_id   INTEGER NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,
    x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
    landmarks  BLOB NOT NULL,
    score      REAL NOT NULL,
    size       REAL NOT NULL,
    sharpness  REAL NOT NULL,
    yaw REAL NOT NULL, pitch REAL NOT NULL, roll REAL NOT NULL,
    model_id   TEXT NOT NULL,
    embedding  BLOB NOT NULL,
    UNIQUE (photo_id, idx)
  );
  CREATE INDEX faces_model ON faces (model_id);
  CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    folder          TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    status          TEXT NOT NULL CHECK (status IN ('running', 'done', 'interrupted', 'failed')),
    provider        TEXT,
    model_id        TEXT,
    photos_total    INTEGER NOT NULL DEFAULT 0,
    photos_indexed  INTEGER NOT NULL DEFAULT 0,
    faces_found     INTEGER NOT NULL DEFAULT 0,
    errors          INTEGER NOT NULL DEFAULT 0
  );
  `,
];

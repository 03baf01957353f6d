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
  `,  `
  -- People and what the user decided about them. Machine output (assignments with source
  -- 'cluster') is rewritten by every re-cluster; user facts (names, merges, hidden,
  -- cover, face decisions) are only ever changed by the user, and are replayed onto the machine
  -- output so a re-cluster never undoes them.
  CREATE TABLE people (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT,
    hidden        INTEGER NOT NULL DEFAULT 0,
    cover_face_id INTEGER REFERENCES faces (id) ON DELETE SET NULL,
    merged_into   INTEGER REFERENCES people (id),
    created_at    TEXT NOT NULL DEFAULT (datetime('now'))
  );
  -- Names that differ only by case are one person.
  CREATE UNIQUE INDEX people_live_name ON people (name COLLATE NOCASE) WHERE name IS NOT NULL AND merged_into IS NULL;
  CREATE TABLE assignments (
    face_id    INTEGER PRIMARY KEY REFERENCES faces (id) ON DELETE CASCADE,
    person_id  INTEGER NOT NULL REFERENCES people (id),
    source     TEXT NOT NULL CHECK (source IN ('cluster', 'user'))
  );
  CREATE INDEX assignments_person ON assignments (person_id);
  -- confirm: the face is this person (must-link); reject: never this person (cannot-link).
  CREATE TABLE face_decisions (
    face_id    INTEGER NOT NULL REFERENCES faces (id) ON DELETE CASCADE,
    person_id  INTEGER NOT NULL REFERENCES people (id),
    kind       TEXT NOT NULL CHECK (kind IN ('confirm', 'reject')),
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (face_id, person_id)
  );
  CREATE INDEX face_decisions_person ON face_decisions (person_id, kind);
  -- Undo journal: each user operation with the rows it changed, as they were before.
  CREATE TABLE operations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    label       TEXT NOT NULL,
    before      TEXT NOT NULL,
    undone      INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL DEFAULT (datetime('now'))
  );
  `,  `
  -- Pairs of faces the user put apart (a face moved out of a person is never again grouped with
  -- the faces it left), whoever holds either face after later re-clusters. face_a < face_b.
  CREATE TABLE face_apart (
    face_a INTEGER NOT NULL REFERENCES faces (id) ON DELETE CASCADE,
    face_b INTEGER NOT NULL REFERENCES faces (id) ON DELETE CASCADE,
    PRIMARY KEY (face_a, face_b),
    CHECK (face_a < face_b)
  );
  CREATE INDEX face_apart_b ON face_apart (face_b);
  `,
  `
  -- A file with the same content (sha256) as a photo already in the library is that photo in a
  -- second place: its row points at the photo and holds no faces, so no face is stored twice.
  -- Deleting the photo's row drops these rows too; the next scan finds the files again.
  ALTER TABLE photos ADD COLUMN duplicate_of INTEGER REFERENCES photos (id) ON DELETE CASCADE;
  CREATE INDEX photos_duplicate_of ON photos (duplicate_of) WHERE duplicate_of IS NOT NULL;
  -- Faces whose vector changed in place (an edited photo keeps its face ids): the HNSW file
  -- still holds their old vectors until the indexer brings it up to date.
  CREATE TABLE ann_stale (
    face_id INTEGER PRIMARY KEY REFERENCES faces (id) ON DELETE CASCADE
  );
  `,
  `
  -- Names other photo tools wrote into a photo's XMP (face regions), and what Kith did with each:
  -- named the face it lies on, found no face there, met a second name on that face (conflict),
  -- or kept what the user had already decided in Kith about that face.
  CREATE TABLE face_regions (
    id       INTEGER PRIMARY KEY,
    photo_id INTEGER NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    source   TEXT NOT NULL,
    x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
    face_id  INTEGER REFERENCES faces (id) ON DELETE SET NULL,
    outcome  TEXT NOT NULL CHECK (outcome IN ('named', 'unmatched', 'conflict', 'kept')),
    detail   TEXT
  );
  CREATE INDEX face_regions_photo ON face_regions (photo_id);
  -- Photos whose regions were read, and what was read (the photo's hash, its sidecars' sizes and
  -- times): a photo whose content or sidecar changes is read again.
  CREATE TABLE region_reads (
    photo_id  INTEGER PRIMARY KEY REFERENCES photos (id) ON DELETE CASCADE,
    signature TEXT NOT NULL
  );
  `,
  `
  -- Where a face came from: found by the detector, drawn by the user on the photo, or made from
  -- a named region another tool wrote (where the detector found no face). Drawn and imported
  -- faces are user decisions: re-indexing an edited photo never deletes them.
  ALTER TABLE faces ADD COLUMN origin TEXT NOT NULL DEFAULT 'detected' CHECK (origin IN ('detected', 'drawn', 'imported'));
  `,
  `
  -- A library holds photos from several folders (kith add / kith remove). The one folder a
  -- library had until now becomes its first.
  CREATE TABLE folders (
    id       INTEGER PRIMARY KEY,
    path     TEXT NOT NULL UNIQUE,
    added_at TEXT NOT NULL DEFAULT (datetime('now'))
  );
  INSERT INTO folders (path) SELECT value FROM meta WHERE key = 'root';
  DELETE FROM meta WHERE key = 'root';
  `,
  `
  -- The personal metric learnt from the user's names (people/adaptor.ts): W and its start W0,
  -- float32 blobs (out_dim × in_dim, row-major), for one embedding model. Derived data: the
  -- raw vectors stay the truth, and deleting a row only means training again from them.
  CREATE TABLE adaptors (
    model_id   TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    in_dim     INTEGER NOT NULL,
    out_dim    INTEGER NOT NULL,
    weights    BLOB NOT NULL,
    start      BLOB NOT NULL,
    trained_at TEXT NOT NULL DEFAULT (datetime('now'))
  );
  `,
];

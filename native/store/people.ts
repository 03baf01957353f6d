/**
 * @file People, face assignments and the user's decisions about faces, plus the undo journal.
 * Machine output (assignments with source 'cluster') and user facts live in separate rows so
 * a re-cluster can replace the first without touching the second.
 */
import type { Db } from './db.ts';
import { bestFacesFirst } from './face-rank.ts';

export interface PersonRow {
  id: number;
  name: string | null;
  hidden: boolean;
  coverFaceId: number | null;
  mergedInto: number | null;
}

export interface PersonSummary extends PersonRow {
  faceCount: number;
  /** Cover face, or the best-looking assigned face (face-rank.ts) when the user has not chosen one. */
  displayFaceId: number | null;
}

export type AssignmentSource = 'cluster' | 'user';
export interface Assignment {
  faceId: number;
  personId: number;
  source: AssignmentSource;
}

export type DecisionKind = 'confirm' | 'reject';
export interface Decision {
  faceId: number;
  personId: number;
  kind: DecisionKind;
}

/** The rows one user operation touched, as they were before it; restoring them undoes it. */
export interface Snapshot {
  personIds: number[];
  faceIds: number[];
  people: PersonRow[];
  assignments: Assignment[];
  decisions: Decision[];
  /** Face pairs kept apart that touch `faceIds` (absent in journals written before they existed). */
  apart?: Array<[number, number]>;
  /** People the operation created; undo deletes them. */
  created?: number[];
  /** Faces the user drew in the operation (native/people/manual-face.ts); undo deletes them. */
  drawnFaces?: number[];
}

interface RawPerson {
  id: number;
  name: string | null;
  hidden: number;
  coverFaceId: number | null;
  mergedInto: number | null;
}

const PERSON = `id, name, hidden, cover_face_id AS coverFaceId, merged_into AS mergedInto`;

const toPerson = (r: RawPerson): PersonRow => ({ ...r, hidden: r.hidden === 1 });

/** `IN (...)` over a JSON array parameter, so statements can be prepared once. */
const IN_JSON = (col: string) => `${col} IN (SELECT value FROM json_each(?))`;

export class People {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      summaries: db.prepare<[], RawPerson & { faceCount: number; displayFaceId: number | null }>(
        `SELECT p.id, p.name, p.hidden, p.cover_face_id AS coverFaceId, p.merged_into AS mergedInto,
           count(a.face_id) AS faceCount,
           coalesce(p.cover_face_id, (SELECT a2.face_id FROM assignments a2 JOIN faces f2 ON f2.id = a2.face_id
                                      WHERE a2.person_id = p.id ORDER BY ${bestFacesFirst('f2')} LIMIT 1)) AS displayFaceId
         FROM people p LEFT JOIN assignments a ON a.person_id = p.id
         WHERE p.merged_into IS NULL GROUP BY p.id`,
      ),
      count: db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM people WHERE merged_into IS NULL`),
      get: db.prepare<[number], RawPerson>(`SELECT ${PERSON} FROM people WHERE id = ?`),
      byName: db.prepare<[string], RawPerson>(
        `SELECT ${PERSON} FROM people WHERE name = ? COLLATE NOCASE AND merged_into IS NULL`,
      ),
      insert: db.prepare<[string | null]>(`INSERT INTO people (name) VALUES (?)`),
      rename: db.prepare<[string | null, number]>(`UPDATE people SET name = ? WHERE id = ?`),
      hide: db.prepare<[number, number]>(`UPDATE people SET hidden = ? WHERE id = ?`),
      cover: db.prepare<[number | null, number]>(`UPDATE people SET cover_face_id = ? WHERE id = ?`),
      mergePerson: db.prepare<[number, number]>(`UPDATE people SET merged_into = ?, name = NULL WHERE id = ?`),
      redirectMerged: db.prepare<[number, number]>(`UPDATE people SET merged_into = ? WHERE merged_into = ?`),
      resolve: db.prepare<[number], { id: number }>(
        `WITH RECURSIVE chain(id, next) AS (SELECT id, merged_into FROM people WHERE id = ?
           UNION ALL SELECT p.id, p.merged_into FROM people p JOIN chain c ON p.id = c.next)
         SELECT id FROM chain WHERE next IS NULL`,
      ),
      emptyUnnamed: db.prepare(
        `DELETE FROM people WHERE name IS NULL AND merged_into IS NULL AND hidden = 0 AND cover_face_id IS NULL
           AND id NOT IN (SELECT person_id FROM assignments) AND id NOT IN (SELECT person_id FROM face_decisions)
           AND id NOT IN (SELECT merged_into FROM people WHERE merged_into IS NOT NULL)`,
      ),
      assignments: db.prepare<[], Assignment>(`SELECT face_id AS faceId, person_id AS personId, source FROM assignments`),
      assignmentOf: db.prepare<[number], Assignment>(
        `SELECT face_id AS faceId, person_id AS personId, source FROM assignments WHERE face_id = ?`,
      ),
      facesOf: db.prepare<[number], { faceId: number; source: AssignmentSource }>(
        `SELECT face_id AS faceId, source FROM assignments WHERE person_id = ? ORDER BY face_id`,
      ),
      assign: db.prepare<[number, number, AssignmentSource]>(
        `INSERT INTO assignments (face_id, person_id, source) VALUES (?, ?, ?)
         ON CONFLICT (face_id) DO UPDATE SET person_id = excluded.person_id, source = excluded.source`,
      ),
      unassign: db.prepare<[number]>(`DELETE FROM assignments WHERE face_id = ?`),
      clearMachine: db.prepare(`DELETE FROM assignments WHERE source = 'cluster'`),
      movePersonFaces: db.prepare<[number, number]>(`UPDATE assignments SET person_id = ? WHERE person_id = ?`),
      decisions: db.prepare<[], Decision>(`SELECT face_id AS faceId, person_id AS personId, kind FROM face_decisions`),
      decide: db.prepare<[number, number, DecisionKind]>(
        `INSERT INTO face_decisions (face_id, person_id, kind) VALUES (?, ?, ?)
         ON CONFLICT (face_id, person_id) DO UPDATE SET kind = excluded.kind, created_at = datetime('now')`,
      ),
      dropConfirmsOfFace: db.prepare<[number]>(`DELETE FROM face_decisions WHERE face_id = ? AND kind = 'confirm'`),
      // Merging says `from`'s faces are `into`: their confirmations overrule rejections by `into`.
      confirmOverRejects: db.prepare<[number, number]>(
        `UPDATE face_decisions SET kind = 'confirm' WHERE person_id = ? AND kind = 'reject'
           AND face_id IN (SELECT face_id FROM face_decisions WHERE person_id = ? AND kind = 'confirm')`,
      ),
      // Otherwise a decision about `from` becomes one about `into`; an existing decision about `into` wins.
      mergeDecisions: db.prepare<[number, number]>(
        `INSERT OR IGNORE INTO face_decisions (face_id, person_id, kind, created_at)
         SELECT face_id, ?, kind, created_at FROM face_decisions WHERE person_id = ?`,
      ),
      dropDecisionsOf: db.prepare<[number]>(`DELETE FROM face_decisions WHERE person_id = ?`),
      apartAll: db.prepare<[], { a: number; b: number }>(`SELECT face_a AS a, face_b AS b FROM face_apart`),
      addApart: db.prepare<[number, number]>(`INSERT OR IGNORE INTO face_apart (face_a, face_b) VALUES (?, ?)`),
      dropApartAcross: db.prepare<[string, string, string, string]>(
        `DELETE FROM face_apart WHERE (${IN_JSON('face_a')} AND ${IN_JSON('face_b')}) OR (${IN_JSON('face_a')} AND ${IN_JSON('face_b')})`,
      ),
      snapApart: db.prepare<[string, string], { a: number; b: number }>(
        `SELECT face_a AS a, face_b AS b FROM face_apart WHERE ${IN_JSON('face_a')} OR ${IN_JSON('face_b')}`,
      ),
      delApart: db.prepare<[string, string]>(`DELETE FROM face_apart WHERE ${IN_JSON('face_a')} OR ${IN_JSON('face_b')}`),
      snapPeople: db.prepare<[string], RawPerson>(`SELECT ${PERSON} FROM people WHERE ${IN_JSON('id')}`),
      snapAssignments: db.prepare<[string, string], Assignment>(
        `SELECT face_id AS faceId, person_id AS personId, source FROM assignments
         WHERE ${IN_JSON('face_id')} OR ${IN_JSON('person_id')}`,
      ),
      snapDecisions: db.prepare<[string, string], Decision>(
        `SELECT face_id AS faceId, person_id AS personId, kind FROM face_decisions
         WHERE ${IN_JSON('face_id')} OR ${IN_JSON('person_id')}`,
      ),
      delAssignments: db.prepare<[string, string]>(`DELETE FROM assignments WHERE ${IN_JSON('face_id')} OR ${IN_JSON('person_id')}`),
      delDecisions: db.prepare<[string, string]>(`DELETE FROM face_decisions WHERE ${IN_JSON('face_id')} OR ${IN_JSON('person_id')}`),
      restorePerson: db.prepare(
        `INSERT INTO people (id, name, hidden, cover_face_id, merged_into) VALUES (@id, @name, @hidden, @coverFaceId, @mergedInto)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, hidden = excluded.hidden,
           cover_face_id = excluded.cover_face_id, merged_into = excluded.merged_into`,
      ),
      maxId: db.prepare<[], { id: number | null }>(`SELECT max(id) AS id FROM people`),
      idsAbove: db.prepare<[number], { id: number }>(`SELECT id FROM people WHERE id > ?`),
      deletePerson: db.prepare<[number]>(`DELETE FROM people WHERE id = ?`),
      faceExists: db.prepare<[number], { id: number }>(`SELECT id FROM faces WHERE id = ?`),
      deleteDrawnFace: db.prepare<[number]>(`DELETE FROM faces WHERE id = ? AND origin = 'drawn'`),
      journal: db.prepare<[string, string]>(`INSERT INTO operations (label, before) VALUES (?, ?)`),
      lastOp: db.prepare<[], { id: number; label: string; before: string }>(
        `SELECT id, label, before FROM operations WHERE undone = 0 ORDER BY id DESC LIMIT 1`,
      ),
      markUndone: db.prepare<[number]>(`UPDATE operations SET undone = 1 WHERE id = ?`),
      relabelDrawn: db.prepare<[string, string, number]>(`UPDATE operations SET label = ?, before = json_set(before, '$.drawnFaces', json(?)) WHERE id = ?`),
      rejected: db.prepare<[number, number], { one: number }>(`SELECT 1 AS one FROM face_decisions WHERE face_id = ? AND person_id = ? AND kind = 'reject'`),
      trimJournal: db.prepare<[number]>(`DELETE FROM operations WHERE id <= (SELECT max(id) FROM operations) - ?`),
    };
  }

  summaries(): PersonSummary[] {
    return this.s.summaries.all().map((r) => ({ ...toPerson(r), faceCount: r.faceCount, displayFaceId: r.displayFaceId }));
  }

  /** People that stand on their own (not merged into another); cheap, unlike summaries(). */
  count(): number {
    return this.s.count.get()!.n;
  }

  get(id: number): PersonRow | undefined {
    const r = this.s.get.get(id);
    return r && toPerson(r);
  }

  /** The live person a (possibly merged-away) id now stands for. */
  resolve(id: number): number | undefined {
    return this.s.resolve.get(id)?.id;
  }

  findByName(name: string): PersonRow | undefined {
    const r = this.s.byName.get(name);
    return r && toPerson(r);
  }

  create(name: string | null = null): number {
    return Number(this.s.insert.run(name).lastInsertRowid);
  }

  rename(id: number, name: string | null): void {
    this.s.rename.run(name, id);
  }

  setHidden(id: number, hidden: boolean): void {
    this.s.hide.run(hidden ? 1 : 0, id);
  }

  setCover(id: number, faceId: number | null): void {
    this.s.cover.run(faceId, id);
  }

  /** Fold `from` into `into`: faces, decisions and earlier merges all follow. */
  merge(from: number, into: number): void {
    this.s.movePersonFaces.run(into, from);
    this.s.confirmOverRejects.run(into, from);
    this.s.mergeDecisions.run(into, from);
    this.s.dropDecisionsOf.run(from);
    this.s.redirectMerged.run(into, from);
    this.s.mergePerson.run(into, from);
  }

  /** Drop unnamed, undecided people left with no faces (machine clusters that emptied). */
  pruneEmpty(): void {
    this.s.emptyUnnamed.run();
  }

  assignments(): Assignment[] {
    return this.s.assignments.all();
  }

  assignmentOf(faceId: number): Assignment | undefined {
    return this.s.assignmentOf.get(faceId);
  }

  facesOf(personId: number): Array<{ faceId: number; source: AssignmentSource }> {
    return this.s.facesOf.all(personId);
  }

  assign(faceId: number, personId: number, source: AssignmentSource): void {
    this.s.assign.run(faceId, personId, source);
  }

  unassign(faceId: number): void {
    this.s.unassign.run(faceId);
  }

  clearMachineAssignments(): void {
    this.s.clearMachine.run();
  }

  decisions(): Decision[] {
    return this.s.decisions.all();
  }

  /** Record a decision. Confirming a face for one person withdraws its confirmation for any other. */
  decide(faceId: number, personId: number, kind: DecisionKind): void {
    if (kind === 'confirm') this.s.dropConfirmsOfFace.run(faceId);
    this.s.decide.run(faceId, personId, kind);
  }

  /** Every pair of faces the user put apart, as [smaller id, larger id]. */
  apartPairs(): Array<[number, number]> {
    return this.s.apartAll.all().map((r) => [r.a, r.b]);
  }

  /** Keep faces `a` and `b` apart in every future clustering. */
  keepApart(a: number, b: number): void {
    if (a !== b) this.s.addApart.run(Math.min(a, b), Math.max(a, b));
  }

  /** Withdraw "apart" between any face of `xs` and any face of `ys` (the user put them together). */
  allowTogether(xs: readonly number[], ys: readonly number[]): void {
    const x = JSON.stringify(xs);
    const y = JSON.stringify(ys);
    this.s.dropApartAcross.run(x, y, y, x);
  }

  faceExists(faceId: number): boolean {
    return this.s.faceExists.get(faceId) !== undefined;
  }

  snapshot(personIds: number[], faceIds: number[]): Snapshot {
    const p = JSON.stringify(personIds);
    const f = JSON.stringify(faceIds);
    return {
      personIds,
      faceIds,
      people: this.s.snapPeople.all(p).map(toPerson),
      assignments: this.s.snapAssignments.all(f, p),
      decisions: this.s.snapDecisions.all(f, p),
      apart: this.s.snapApart.all(f, f).map((r) => [r.a, r.b]),
    };
  }

  /** Put the snapshot's rows back exactly as they were (people created since are left for pruneEmpty). */
  restore(snap: Snapshot): void {
    const p = JSON.stringify(snap.personIds);
    const f = JSON.stringify(snap.faceIds);
    const created = JSON.stringify(snap.created ?? []);
    this.s.delAssignments.run(f, p);
    this.s.delDecisions.run(f, p);
    this.s.delAssignments.run('[]', created);
    this.s.delDecisions.run('[]', created);
    if (snap.apart) {
      this.s.delApart.run(f, f);
      for (const [a, b] of snap.apart) if (this.faceExists(a) && this.faceExists(b)) this.s.addApart.run(a, b);
    }
    for (const id of snap.created ?? []) this.s.deletePerson.run(id);
    // Clear names first: restoring one by one could briefly give two live people one name.
    for (const person of snap.people) this.s.rename.run(null, person.id);
    for (const person of snap.people) this.s.restorePerson.run({ ...person, hidden: person.hidden ? 1 : 0 });
    // Faces deleted since (their photo went away) cannot come back.
    for (const a of snap.assignments) if (this.faceExists(a.faceId)) this.s.assign.run(a.faceId, a.personId, a.source);
    for (const d of snap.decisions) if (this.faceExists(d.faceId)) this.s.decide.run(d.faceId, d.personId, d.kind);
    for (const id of snap.drawnFaces ?? []) this.s.deleteDrawnFace.run(id);
  }

  /** Highest person id so far (0 when none): people created after it are new. */
  maxId(): number {
    return this.s.maxId.get()?.id ?? 0;
  }

  idsAbove(id: number): number[] {
    return this.s.idsAbove.all(id).map((r) => r.id);
  }

  journal(label: string, before: Snapshot, keep: number): void {
    this.s.journal.run(label, JSON.stringify(before));
    this.s.trimJournal.run(keep);
  }

  /** The newest operation not yet undone, if any. */
  lastOperation(): { id: number; label: string; before: Snapshot } | undefined {
    const r = this.s.lastOp.get();
    return r && { id: r.id, label: r.label, before: JSON.parse(r.before) as Snapshot };
  }

  /** Operation `id` also drew `faceIds` (undo deletes them), and says so in `label`. */
  recordDrawnFaces(id: number, label: string, faceIds: readonly number[]): void {
    this.s.relabelDrawn.run(label, JSON.stringify(faceIds), id);
  }

  /** The user said this face is not this person. */
  isRejected(faceId: number, personId: number): boolean {
    return this.s.rejected.get(faceId, personId) !== undefined;
  }

  markUndone(id: number): void {
    this.s.markUndone.run(id);
  }
}

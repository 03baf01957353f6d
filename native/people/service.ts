/**
 * @file The person service: the only code that records what the user decided about who is
 * who. User operations (name, merge, move, reject, confirm, hide, cover, "not the same person")
 * are recorded as facts with an undo snapshot. The machine's own placements come from the
 * clusterer (clusterer.ts), which replays these facts onto every fresh clustering, so no
 * re-cluster undoes a decision.
 */
import type { Store } from '../store/index.ts';
import type { PersonRow, Snapshot } from '../store/index.ts';
import { UserError } from '../common/user-error.ts';
import type { OpResult } from '../api/types.ts';

/** How many user operations can be undone. */
export const UNDO_DEPTH = 50;


export type { OpResult };

function cleanName(name: string): string {
  const n = name.trim().replace(/\s+/g, ' ');
  if (!n) throw new UserError('a name cannot be empty');
  if (n.length > 200) throw new UserError('a name is at most 200 characters');
  return n;
}

export class PeopleService {
  constructor(private readonly store: Store) {}

  private person(id: number): PersonRow {
    const p = this.store.people.get(id);
    if (!p || p.mergedInto !== null) throw new UserError(`no person ${id}`);
    return p;
  }

  private checkFaces(faceIds: number[]): void {
    if (faceIds.length === 0) throw new UserError('no faces given');
    for (const id of faceIds) if (!this.store.people.faceExists(id)) throw new UserError(`no face ${id}`);
  }

  /** Run `change` atomically, journaling the touched rows first so it can be undone. */
  private operation(label: string, personIds: number[], faceIds: number[], change: () => number | void): OpResult {
    return this.store.transaction(() => {
      const before: Snapshot = this.store.people.snapshot(personIds, faceIds);
      const lastId = this.store.people.maxId();
      const personId = change() ?? undefined;
      before.created = this.store.people.idsAbove(lastId);
      this.store.people.journal(label, before, UNDO_DEPTH);
      return { label, personId };
    });
  }

  private confirmAll(personId: number): void {
    const faces = this.store.people.facesOf(personId).map((f) => f.faceId);
    this.store.people.allowTogether(faces, faces);
    for (const faceId of faces) {
      this.store.people.decide(faceId, personId, 'confirm');
      this.store.people.assign(faceId, personId, 'user');
    }
  }

  /**
   * The user puts `faceIds` into `personId` (a move, or "yes, this is them"). They are confirmed
   * there and may share it with its faces from now on. A face taken from another person is
   * rejected by that person and kept apart from the faces it leaves there: a split stays split
   * through every re-cluster, even after those faces change hands.
   */
  private place(faceIds: number[], personId: number): void {
    const people = this.store.people;
    const moving = new Set(faceIds);
    const leftBy = new Map<number, number[]>();
    for (const faceId of faceIds) {
      const from = people.assignmentOf(faceId)?.personId;
      if (from === undefined || from === personId) continue;
      people.decide(faceId, from, 'reject');
      leftBy.set(from, [...(leftBy.get(from) ?? []), faceId]);
    }
    for (const [from, moved] of leftBy) {
      const left = people.facesOf(from).map((f) => f.faceId).filter((id) => !moving.has(id));
      for (const m of moved) for (const l of left) people.keepApart(m, l);
    }
    people.allowTogether(faceIds, people.facesOf(personId).map((f) => f.faceId));
    people.allowTogether(faceIds, faceIds);
    for (const faceId of faceIds) {
      people.decide(faceId, personId, 'confirm');
      people.assign(faceId, personId, 'user');
    }
  }

  /**
   * Name or rename a person. Naming vouches for the faces the person has now: they are
   * confirmed, so no re-cluster can take them away. A name already used by someone else is
   * refused with `conflictWith` so the UI can offer a merge.
   */
  rename(personId: number, name: string): OpResult {
    const p = this.person(personId);
    const n = cleanName(name);
    const other = this.store.people.findByName(n);
    if (other && other.id !== personId) {
      return { label: `"${n}" is already someone else`, personId, conflictWith: other.id };
    }
    const faces = this.store.people.facesOf(personId).map((f) => f.faceId);
    return this.operation(p.name ? `Renamed ${p.name} to ${n}` : `Named ${n}`, [personId], faces, () => {
      this.store.people.rename(personId, n);
      this.confirmAll(personId);
      return personId;
    });
  }

  /**
   * Merge `from` people into `into`. `name` says which name wins (any of theirs, or a new
   * one); without it, `into` keeps its name, or takes the only name among them.
   */
  merge(from: number[], into: number, name?: string, label?: string): OpResult {
    const target = this.person(into);
    const sources = [...new Set(from)].filter((id) => id !== into).map((id) => this.person(id));
    if (sources.length === 0) throw new UserError('nothing to merge');
    const names = [target, ...sources].map((p) => p.name).filter((n): n is string => n !== null);
    const finalName = name !== undefined ? cleanName(name) : (target.name ?? (names.length === 1 ? names[0]! : null));
    if (name === undefined && !target.name && new Set(names.map((n) => n.toLowerCase())).size > 1) {
      throw new UserError(`say which name wins: ${names.join(', ')}`);
    }
    const ids = [into, ...sources.map((s) => s.id)];
    const faces = ids.flatMap((id) => this.store.people.facesOf(id).map((f) => f.faceId));
    return this.operation(label ?? `Merged ${sources.length + 1} people${finalName ? ` as ${finalName}` : ''}`, ids, faces, () => {
      // The user says these are one person: faces kept apart among them may now be together.
      this.store.people.allowTogether(faces, faces);
      for (const s of sources) this.store.people.merge(s.id, into);
      if (finalName !== target.name) this.store.people.rename(into, finalName);
      if (finalName) this.confirmAll(into);
      return into;
    });
  }

  /** Move faces to a person, or to a new person (optionally named). Moved faces are confirmed there. */
  moveFaces(faceIds: number[], to: { personId: number } | { newPersonName?: string | null }): OpResult {
    this.checkFaces(faceIds);
    const target = 'personId' in to ? this.person(to.personId) : null;
    const newName = !target && 'newPersonName' in to && to.newPersonName ? cleanName(to.newPersonName) : null;
    if (newName && this.store.people.findByName(newName)) throw new UserError(`"${newName}" already exists: move the faces to that person`);
    const previous = faceIds.map((id) => this.store.people.assignmentOf(id)?.personId).filter((x): x is number => x !== undefined);
    const label = `Moved ${faceIds.length} face${faceIds.length > 1 ? 's' : ''} to ${target?.name ?? newName ?? 'a new person'}`;
    return this.operation(label, [...new Set([...previous, ...(target ? [target.id] : [])])], faceIds, () => {
      const personId = target?.id ?? this.store.people.create(newName);
      this.place(faceIds, personId);
      return personId;
    });
  }

  /** "Not this person": the faces leave the person and never come back to them. */
  rejectFaces(faceIds: number[], personId: number): OpResult {
    this.checkFaces(faceIds);
    const p = this.person(personId);
    return this.operation(`Removed ${faceIds.length} face${faceIds.length > 1 ? 's' : ''} from ${p.name ?? 'this person'}`, [personId], faceIds, () => {
      for (const faceId of faceIds) {
        this.store.people.decide(faceId, personId, 'reject');
        if (this.store.people.assignmentOf(faceId)?.personId === personId) this.store.people.unassign(faceId);
      }
      return personId;
    });
  }

  /** "No, that is not them" to a suggestion: the faces stay where they are, and never become that person. */
  decline(faceIds: number[], personId: number): OpResult {
    this.checkFaces(faceIds);
    const p = this.person(personId);
    return this.operation(`Not ${p.name ?? 'this person'}`, [personId], faceIds, () => {
      for (const faceId of faceIds) this.store.people.decide(faceId, personId, 'reject');
    });
  }

  /**
   * "No, these are two people": every face of one is kept apart from every face of the other,
   * so no re-cluster joins them, and the question is not asked again. When one of them is
   * named, the other's faces are also declined for them, so "Is this <name>?" is not asked either.
   */
  notSamePerson(a: number, b: number): OpResult {
    const pa = this.person(a);
    const pb = this.person(b);
    if (a === b) throw new UserError('a person is always the same as themselves');
    const facesA = this.store.people.facesOf(a).map((f) => f.faceId);
    const facesB = this.store.people.facesOf(b).map((f) => f.faceId);
    if (facesA.length === 0 || facesB.length === 0) throw new UserError('both people need faces to be kept apart');
    const label = `${pa.name ?? `Unnamed #${a}`} and ${pb.name ?? `unnamed #${b}`} are not the same person`;
    return this.operation(label, [a, b], [...facesA, ...facesB], () => {
      for (const x of facesA) for (const y of facesB) this.store.people.keepApart(x, y);
      if (pb.name !== null) for (const f of facesA) this.store.people.decide(f, b, 'reject');
      if (pa.name !== null) for (const f of facesB) this.store.people.decide(f, a, 'reject');
    });
  }

  /** "Yes, this is them": the faces are confirmed for the person (and assigned to them). */
  confirmFaces(faceIds: number[], personId: number, label?: string): OpResult {
    this.checkFaces(faceIds);
    const p = this.person(personId);
    const previous = faceIds.map((id) => this.store.people.assignmentOf(id)?.personId).filter((x): x is number => x !== undefined);
    return this.operation(label ?? `Confirmed ${faceIds.length} face${faceIds.length > 1 ? 's' : ''} as ${p.name ?? 'this person'}`, [...new Set([personId, ...previous])], faceIds, () => {
      this.place(faceIds, personId);
      return personId;
    });
  }

  setHidden(personId: number, hidden: boolean): OpResult {
    const p = this.person(personId);
    return this.operation(`${hidden ? 'Hid' : 'Showed'} ${p.name ?? 'a person'}`, [personId], [], () => {
      this.store.people.setHidden(personId, hidden);
      return personId;
    });
  }

  setCover(personId: number, faceId: number): OpResult {
    const p = this.person(personId);
    if (this.store.people.assignmentOf(faceId)?.personId !== personId) throw new UserError(`face ${faceId} is not ${p.name ?? 'this person'}'s`);
    return this.operation(`Changed the cover of ${p.name ?? 'a person'}`, [personId], [], () => {
      this.store.people.setCover(personId, faceId);
      return personId;
    });
  }

  /** Undo the newest operation not yet undone; null when there is none. */
  undo(): OpResult | null {
    return this.store.transaction(() => {
      const op = this.store.people.lastOperation();
      if (!op) return null;
      this.store.people.restore(op.before);
      this.store.people.markUndone(op.id);
      this.store.people.pruneEmpty();
      return { label: `Undid: ${op.label}` };
    });
  }
}

/**
 * @file Naming suggestions for the library: trains the namer (classify.ts) on the faces the
 * user confirmed for named people (and the ones they rejected), retrains only when decisions
 * changed, and turns its answers into "Is this Leonard?" questions for unnamed people and
 * unassigned faces. Accepting and declining go through the person service, so both are
 * decisions like any other (stored, replayed, undoable).
 */
import type { OpResult, Suggestion } from '../api/types.ts';
import { trainNamer, type NamedExample, type Namer } from './classify.ts';
import { type PeopleService } from './service.ts';
import { UserError } from '../common/user-error.ts';
import type { Store } from '../store/index.ts';

export class Naming {
  private namer: Namer | null = null;
  private stale = true;
  private cached: Suggestion[] | null = null;

  constructor(
    private readonly store: Store,
    private readonly modelId: string,
  ) {}

  /** Decisions or people changed: retrain before the next question. */
  invalidate(): void {
    this.stale = true;
    this.cached = null;
  }

  /** The namer for the current decisions, warm-started from the last one; null while no one is named. */
  private currentNamer(): Namer | null {
    if (!this.stale) return this.namer;
    const named = new Map(this.store.people.summaries().filter((p) => p.name !== null).map((p) => [p.id, p.name!]));
    const examples: NamedExample[] = [];
    for (const d of this.store.people.decisions()) {
      if (!named.has(d.personId)) continue;
      const face = this.store.faces.get(d.faceId);
      if (face?.modelId !== this.modelId) continue;
      examples.push({ vector: face.embedding, personId: d.personId, faceId: d.faceId, rejected: d.kind === 'reject' });
    }
    const people = new Set(examples.filter((e) => !e.rejected).map((e) => e.personId));
    this.namer = people.size === 0 ? null : this.namer ? this.namer.retrain(examples) : trainNamer(examples);
    this.stale = false;
    return this.namer;
  }

  /** Open questions, most confident first: one per unnamed person, one per unassigned face. */
  suggestions(): Suggestion[] {
    if (this.cached && !this.stale) return this.cached;
    const namer = this.currentNamer();
    if (!namer) return (this.cached = []);
    const people = this.store.people.summaries();
    const nameOf = new Map(people.filter((p) => p.name !== null).map((p) => [p.id, p.name!]));
    const declined = new Set(this.store.people.decisions().filter((d) => d.kind === 'reject').map((d) => `${d.faceId}:${d.personId}`));
    const vectorOf = (faceId: number) => {
      const f = this.store.faces.get(faceId);
      return f?.modelId === this.modelId ? f.embedding : null;
    };
    const out: Suggestion[] = [];
    for (const p of people) {
      if (p.name !== null || p.hidden || p.faceCount === 0) continue;
      const faceIds = this.store.people.facesOf(p.id).map((f) => f.faceId);
      const vectors = faceIds.map(vectorOf).filter((v): v is Float32Array => v !== null);
      const s = namer.suggestForCluster(vectors);
      if (!s || faceIds.some((f) => declined.has(`${f}:${s.personId}`))) continue;
      out.push({ key: `person:${p.id}`, kind: 'person', personId: p.id, faceIds, suggestedPersonId: s.personId, suggestedName: nameOf.get(s.personId)!, confidence: s.confidence });
    }
    const unassigned = this.store.views
      .unassignedFaces(this.modelId, 0, Number.MAX_SAFE_INTEGER)
      .faces.flatMap((face) => {
        const v = vectorOf(face.id);
        return v ? [{ id: face.id, v }] : [];
      });
    namer.suggestMany(unassigned.map((u) => u.v)).forEach((s, i) => {
      const faceId = unassigned[i]!.id;
      if (!s || declined.has(`${faceId}:${s.personId}`)) return;
      out.push({ key: `face:${faceId}`, kind: 'face', personId: null, faceIds: [faceId], suggestedPersonId: s.personId, suggestedName: nameOf.get(s.personId)!, confidence: s.confidence });
    });
    out.sort((a, b) => b.confidence - a.confidence || a.key.localeCompare(b.key));
    return (this.cached = out);
  }

  private find(key: string): Suggestion {
    const s = this.suggestions().find((x) => x.key === key);
    if (!s) throw new UserError(`no open suggestion "${key}"`);
    return s;
  }

  /** Yes: an unnamed person merges into the suggested one; a face is confirmed as theirs. */
  accept(key: string, people: PeopleService): OpResult {
    const s = this.find(key);
    const label = `${s.faceIds.length === 1 ? '1 face' : `${s.faceIds.length} faces`} named ${s.suggestedName}`;
    const r = s.kind === 'person' ? people.merge([s.personId!], s.suggestedPersonId, undefined, label) : people.confirmFaces(s.faceIds, s.suggestedPersonId, label);
    this.invalidate();
    return r;
  }

  /** No: the faces are recorded as not the suggested person, which also teaches the namer. */
  reject(key: string, people: PeopleService): OpResult {
    const s = this.find(key);
    const r = people.decline(s.faceIds, s.suggestedPersonId);
    this.invalidate();
    return r;
  }
}

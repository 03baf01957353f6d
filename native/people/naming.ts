/**
 * @file Naming suggestions for the library: trains the namer (classify.ts) on the faces the
 * user confirmed for named people (and the ones they rejected), retrains only when decisions
 * changed, and turns its answers into "Is this Leonard?" questions for unnamed people and
 * unassigned faces. Accepting and declining go through the person service, so both are
 * decisions like any other (stored, replayed, undoable).
 */
import type { OpResult, Suggestion } from '../api/types.ts';
import { Adaptor } from './adaptor.ts';
import { AdaptorTrainer, type AdaptorTrainerOptions } from './adaptor-trainer.ts';
import { confidenceOf, trainNamer, type NamedExample, type Namer, type NameGuess } from './classify.ts';
import { type PeopleService } from './service.ts';
import { UserError } from '../common/user-error.ts';
import type { Store } from '../store/index.ts';

/*
 * The triplet-loss adaptor (adaptor.ts) is OFF: it did not measurably help. lfw-dev five-shot,
 * 4 rounds a half (bench/naming-adaptor.ts), namer gated at 99% correct-accept on A–D, read
 * on E–H: raw 704-d 7 false names in 6,910 never-named faces (0.101%), correct-accept 99.74%;
 * the PCA start alone the same; the best adaptor on A–D (α 0.4, λ 0.1) the same 7 (0.101%),
 * the nine α × λ settings 6–7. Named people needed: with 2 named it gave 28 false names
 * against 40, with 10 named 7 against 9, from 20 on the same; it never did worse. On a
 * library this clean the SVM on the raw vectors already separates the named people (top-1
 * 99.8%), and the false names left are strangers close to a named person, which a metric
 * learnt from the named people alone cannot move away. Through the engine (`npm run
 * bench:naming`, lfw-dev, 51 named) it did worse: 9 questions, precision 66.7% (8/12), false
 * names 4/4,398, against 7, 88.9% (8/9) and 1/4,398 without; recovery 72.7% both.
 * KITH_ADAPTOR=1 turns it on (for
 * `npm run bench:naming -- --adaptor`).
 */
export const ADAPTOR_ON = false;
/** The namer's gate in the adapted space: 99% correct-accept on A–D with α 0.4, λ 0.1 (bench/naming-adaptor.ts). */
export const ADAPTED_GATE = 0.6023;

export interface NamingOptions {
  /** Use the adaptor (default: ADAPTOR_ON or KITH_ADAPTOR=1). */
  adaptor?: boolean;
  /** The adaptor's background retrain (debounce, where jobs run). */
  trainer?: AdaptorTrainerOptions;
}

export class Naming {
  private adaptor: Adaptor | null = null;
  private readonly useAdaptor: boolean;
  /** Retrains the adaptor in the background after naming changes; the namer only reads what it stored. */
  private readonly trainer: AdaptorTrainer | null;

  private namer: Namer | null = null;
  private stale = true;
  private cached: Suggestion[] | null = null;

  constructor(
    private readonly store: Store,
    private readonly modelId: string,
    opts: NamingOptions = {},
  ) {
    this.useAdaptor = opts.adaptor ?? (ADAPTOR_ON || process.env.KITH_ADAPTOR === '1');
    this.trainer = this.useAdaptor
      ? new AdaptorTrainer(store, modelId, {
          ...opts.trainer,
          trained: (version) => {
            this.stale = true; // the next question is asked in the new space
            this.cached = null;
            opts.trainer?.trained?.(version);
          },
        })
      : null;
  }

  /** Decisions or people changed: retrain the namer before the next question, and the adaptor in the background. */
  invalidate(): void {
    this.stale = true;
    this.cached = null;
    this.trainer?.schedule();
  }

  /** Resolves once no adaptor retrain is pending or running. */
  adaptorIdle(): Promise<void> {
    return this.trainer?.idle() ?? Promise.resolve();
  }

  /** Stops the background retrain (waiting for one in flight). */
  close(): Promise<void> {
    return this.trainer?.close() ?? Promise.resolve();
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
    // Never trained here: the background retrain stores each new W; until the first one, the raw vectors.
    this.adaptor = this.useAdaptor && people.size > 0 ? this.storedAdaptor() : null;
    if (this.adaptor) {
      const mapped = this.adaptor.applyMany(examples.map((e) => e.vector));
      examples.forEach((e, i) => (e.vector = mapped[i]!));
    }
    this.namer = people.size === 0 ? null : this.namer ? this.namer.retrain(examples) : trainNamer(examples);
    this.stale = false;
    return this.namer;
  }

  /** The newest stored adaptor (kept when its version has not changed), or null while none is stored. */
  private storedAdaptor(): Adaptor | null {
    const row = this.store.adaptors.get(this.modelId);
    if (!row) return null;
    if (this.adaptor?.version === row.version) return this.adaptor;
    return new Adaptor(row.weights, row.start, row.inDim, row.outDim, row.version, { ms: 0, steps: 0, activeTriplets: 0, lastLoss: 0 });
  }

  /** The namer's answers, gated (in the adapted space when the adaptor is on). */
  private gated(namer: Namer, vectors: Float32Array[]): Array<NameGuess | null> {
    if (!this.adaptor) return namer.suggestMany(vectors);
    return namer.bestMany(this.adaptor.applyMany(vectors)).map((s) => (s && s.score >= ADAPTED_GATE ? { ...s, confidence: confidenceOf(s.score) } : null));
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
      if (vectors.length === 0) continue;
      const mean = new Float32Array(vectors[0]!.length);
      for (const v of vectors) for (let j = 0; j < mean.length; j++) mean[j]! += v[j]! / vectors.length;
      // The adapted space is not linear in the raw vector: a cluster is asked about by its mean face, adapted.
      const s = this.adaptor ? this.gated(namer, [mean])[0]! : namer.suggestForCluster(vectors);
      if (!s || faceIds.some((f) => declined.has(`${f}:${s.personId}`))) continue;
      out.push({ key: `person:${p.id}`, kind: 'person', personId: p.id, faceIds, suggestedPersonId: s.personId, suggestedName: nameOf.get(s.personId)!, confidence: s.confidence });
    }
    const unassigned = this.store.views
      .unassignedFaces(this.modelId, 0, Number.MAX_SAFE_INTEGER)
      .faces.flatMap((face) => {
        const v = vectorOf(face.id);
        return v ? [{ id: face.id, v }] : [];
      });
    this.gated(namer, unassigned.map((u) => u.v)).forEach((s, i) => {
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

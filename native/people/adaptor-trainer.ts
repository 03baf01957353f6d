/**
 * @file The personal metric's background retrain (adaptor.ts): after naming changes (names,
 * merges, moves, "not this person"), and once they have settled for `debounceMs`, one training
 * job runs on a worker thread, warm-started from the stored W (or the library's PCA), and the
 * new W is stored with the next version. No API call waits for it; two never run at once (a
 * change during a run schedules one more run after it); an unchanged set of decisions is not
 * trained again. A failure (the worker dies, throws, or answers a map that does not add up) is
 * recorded beside the adaptor and the stored W stays as it was: the namer keeps using it.
 */
import { createHash } from 'node:crypto';
import { startWorker } from '../common/worker-entry.ts';
import type { AdaptorJob, AdaptorSettings, NotPerson, TrainedAdaptor, TripletFace } from './adaptor.ts';
import type { AdaptorWorkerResult } from './adaptor-worker.ts';
import type { Store } from '../store/index.ts';

/** Quiet time after the last naming change before a retrain starts: a burst of answers trains once. */
export const RETRAIN_DEBOUNCE_MS = 2000;
/** Library vectors the PCA start reads at most (adaptor.ts samples the same way). */
const PCA_SAMPLE = 2000;

/** Runs one job somewhere and answers the trained map; rejects on failure. */
export type AdaptorJobRunner = (job: AdaptorJob) => Promise<TrainedAdaptor>;

export interface AdaptorTrainerOptions {
  debounceMs?: number;
  /** Training settings other than adaptor.ts's defaults. */
  settings?: Partial<AdaptorSettings>;
  /** Where jobs run: a worker thread by default (tests inject failures here). */
  run?: AdaptorJobRunner;
  /** A new version is stored. */
  trained?: (version: number) => void;
  /** A retrain failed; the stored version stays. */
  failed?: (message: string) => void;
}

/** The default runner: one worker thread per job, ended when it answers. */
export const runOnWorker: AdaptorJobRunner = (job) =>
  new Promise((resolve, reject) => {
    const worker = startWorker(import.meta.url, 'adaptor-worker', { workerData: job });
    let settled = false;
    const settle = (r: AdaptorWorkerResult) => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      if (r.ok) resolve(r.trained);
      else reject(new Error(r.reason));
    };
    worker.once('message', settle);
    worker.once('error', (err) => settle({ ok: false, reason: err.message }));
    worker.once('exit', (code) => settle({ ok: false, reason: `the training worker exited (${code})` }));
  });

/** The decisions a retrain learns from: confirmed faces of named people, and faces declined for them. */
export interface TrainingSet {
  faces: TripletFace[];
  notPerson: NotPerson[];
  /** A digest of the decisions, to skip a retrain on the same set. */
  fingerprint: string;
}

export function trainingSet(store: Store, modelId: string): TrainingSet {
  const named = new Set(store.people.summaries().filter((p) => p.name !== null).map((p) => p.id));
  const faces: TripletFace[] = [];
  const notPerson: NotPerson[] = [];
  const keys: string[] = [];
  for (const d of store.people.decisions()) {
    if (!named.has(d.personId)) continue;
    const face = store.faces.get(d.faceId);
    if (face?.modelId !== modelId) continue;
    (d.kind === 'reject' ? notPerson : faces).push({ vector: face.embedding, personId: d.personId });
    keys.push(`${d.faceId}:${d.personId}:${d.kind}`);
  }
  keys.sort();
  return { faces, notPerson, fingerprint: createHash('sha256').update(`${modelId}\n${keys.join('\n')}`).digest('hex') };
}

/** Checks a worker's answer before it may replace the stored map. */
function checked(t: TrainedAdaptor, job: AdaptorJob): TrainedAdaptor {
  const n = t.inDim * t.outDim;
  const wantVersion = (job.start?.version ?? 0) + 1;
  if (t.W?.length !== n || t.W0?.length !== n) throw new Error(`the trained map is not ${t.outDim} × ${t.inDim}`);
  if (t.version !== wantVersion) throw new Error(`the trained map is version ${t.version}, not ${wantVersion}`);
  if (job.start && (t.inDim !== job.start.inDim || t.outDim !== job.start.outDim)) throw new Error('the trained map changed size');
  for (let k = 0; k < n; k++) if (!Number.isFinite(t.W[k]!)) throw new Error('the trained map holds a non-finite weight');
  return t;
}

export class AdaptorTrainer {
  private readonly debounceMs: number;
  private readonly run: AdaptorJobRunner;
  private timer: NodeJS.Timeout | null = null;
  /** Resolves when the pending timer fires (or is cancelled). */
  private timerDone: (() => void) | null = null;
  private timerFired: Promise<void> | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly modelId: string,
    private readonly opts: AdaptorTrainerOptions = {},
  ) {
    this.debounceMs = opts.debounceMs ?? RETRAIN_DEBOUNCE_MS;
    this.run = opts.run ?? runOnWorker;
  }

  /** Naming changed: retrain once things have been quiet for the debounce time. Returns at once. */
  schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    else this.timerFired = new Promise((resolve) => (this.timerDone = resolve));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerDone?.();
      this.start();
    }, this.debounceMs);
    this.timer.unref(); // a pending retrain never keeps the process alive
  }

  /** Resolves once nothing is scheduled or training. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.timer) {
        this.timer.ref(); // whoever waits keeps the process alive until it fires
        await this.timerFired;
      } else if (this.running) await this.running;
      else return;
    }
  }

  /** No more retrains; waits for one in flight (its result is not stored). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDone?.();
    await this.running;
  }

  private start(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.trainOnce().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.start();
      }
    });
  }

  private async trainOnce(): Promise<void> {
    const stored = this.store.adaptors.get(this.modelId);
    let job: AdaptorJob;
    let fingerprint: string;
    try {
      const set = trainingSet(this.store, this.modelId);
      fingerprint = set.fingerprint;
      if (set.faces.length === 0 || (stored && this.store.adaptors.trainedOn(this.modelId) === fingerprint)) return;
      job = {
        start: stored ? { W: stored.weights, W0: stored.start, inDim: stored.inDim, outDim: stored.outDim, version: stored.version } : null,
        library: stored ? [] : this.librarySample(),
        faces: set.faces,
        notPerson: set.notPerson,
        ...(this.opts.settings ? { settings: this.opts.settings } : {}),
      };
      if (!job.start && job.library.length === 0) return;
    } catch (err) {
      this.fail(err, stored?.version ?? 0);
      return;
    }
    try {
      const t = checked(await this.run(job), job);
      if (this.closed) return;
      const kept = this.store.transaction(() => {
        // Stored meanwhile (another window's engine on the same library): train again from theirs.
        if ((this.store.adaptors.get(this.modelId)?.version ?? 0) !== (job.start?.version ?? 0)) return false;
        this.store.adaptors.put({ modelId: this.modelId, version: t.version, inDim: t.inDim, outDim: t.outDim, weights: t.W, start: t.W0 }, fingerprint);
        this.store.adaptors.clearFailure(this.modelId);
        return true;
      });
      if (!kept) {
        this.again = true;
        return;
      }
      this.opts.trained?.(t.version);
    } catch (err) {
      this.fail(err, job.start?.version ?? 0);
    }
  }

  private fail(err: unknown, keptVersion: number): void {
    if (this.closed) return;
    const message = err instanceof Error ? err.message : String(err);
    try {
      this.store.adaptors.recordFailure(this.modelId, { at: new Date().toISOString(), message, keptVersion });
    } catch {
      // The library went away under us: nothing to record it in, nothing lost either.
    }
    this.opts.failed?.(message);
  }

  /** An even sample of the library's vectors for the PCA start, read here (the worker has no database). */
  private librarySample(): Float32Array[] {
    const ids = this.store.faces.idsFor(this.modelId);
    const step = Math.max(1, ids.length / PCA_SAMPLE);
    const out: Float32Array[] = [];
    for (let t = 0; Math.floor(t) < ids.length; t += step) {
      const f = this.store.faces.get(ids[Math.floor(t)]!);
      if (f) out.push(f.embedding);
    }
    return out;
  }
}

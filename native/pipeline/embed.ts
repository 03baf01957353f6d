/**
 * @file Turns aligned 112×112 face crops into one L2-normalised vector. The default is the
 * ensemble of two MobileFaceNet-class recognisers: each block is normalised, the blocks are
 * concatenated and the result normalised again, so cosine similarity weighs both equally.
 */
import { join } from 'node:path';
import type { ModelManifest } from '../../models/manifest.ts';
import { ALIGNED_SIZE } from './align.ts';
import { MODELS_DIR, intraOpThreadsSet, loadManifest, ort, runSession, sessionFor, type DeviceChoice, type LoadedSession } from './runtime.ts';

/** Embedder presets by name; each is a list of manifest model ids. */
export const EMBEDDERS: Record<string, readonly string[]> = {
  ensemble: ['sirius-mfn-192', 'fr-feature-512'],
  sirius: ['sirius-mfn-192'],
  'fr-feature': ['fr-feature-512'],
};
export const DEFAULT_EMBEDDER = 'ensemble';

/** The model id vectors from an embedder preset are stored under (known without loading it). */
export function embedderModelId(name: string): string {
  const ids = EMBEDDERS[name];
  if (!ids) throw new Error(`unknown embedder "${name}" (known: ${Object.keys(EMBEDDERS).join(', ')})`);
  return ids.length === 1 ? ids[0]! : `ens(${ids.join('+')})`;
}

/** The manifest entries of an embedder preset's models, in order (throws for one the manifest lacks). */
function embedderModels(name: string, dir: string): EmbedderModel[] {
  embedderModelId(name);
  const models = loadManifest(dir).models;
  return EMBEDDERS[name]!.map((id) => {
    const model = models.find((m) => m.id === id && m.role === 'embedder');
    if (!model?.output) throw new Error(`embedder model ${id} not in manifest: run \`npm run models\``);
    return model;
  });
}

/** The length of the vectors an embedder preset makes, from the manifest (no session needed). */
export function embedderDim(name: string, dir = MODELS_DIR): number {
  return embedderModels(name, dir).reduce((sum, m) => sum + m.output!.size, 0);
}

/**
 * Largest batch sent to a recogniser in one run by sessions on several intra-op threads (in-process
 * runs, re-embedding). Measured on 318 LFW photos (2 cores, in-process): batch 32 peaked at 904 MiB
 * RSS, 16 at 570 MiB, 8 at 424 MiB; 16 and 32 ran at the same ~25 photos/s, 8 was 20% slower.
 */
export const EMBED_BATCH = 16;

/**
 * How crops are grouped into runs. On the CPU a batch costs in proportion to its faces, so batches
 * are cut at EMBED_BATCH and never padded. On a GPU a run costs 3–9 ms whatever its size (README
 * "GPU": fr-feature 2.7 ms for one face, 11.6 ms for 64), so the embedding stage sends up to 64; it
 * pads each batch to a power of two because WebGPU compiles its shaders for every new input shape,
 * and seven shapes compile once where 64 would each stall a run.
 */
export interface Batching {
  max: number;
  padToPowerOfTwo: boolean;
}
export const CPU_BATCHING: Batching = { max: EMBED_BATCH, padToPowerOfTwo: false };
/**
 * A session on one intra-op thread (a worker of the indexing pool) embeds one face per run: on one
 * thread a batch buys no speed, and its activations stay in the session's arena for good. Measured
 * on the 2-core VM, alternating: sirius 9–13 ms a face alone against 16–17 in batches of 16, which
 * hold 134 MiB more (fr-feature: 23–25 ms either way, 86 MiB more); `kith index` of `groups` at
 * 5.6–6.3 photos/s against 5.2–5.4, 300 lfw-dev photos at 24.8–25.4 against 24.4–27.3, and the
 * indexing process peaking at 606–612 MiB against 794–812 (the app's engine: 552–556 against
 * 750–761). This is what brings indexing under 700 MiB with two workers (README "Figures").
 */
export const ONE_THREAD_BATCHING: Batching = { max: 1, padToPowerOfTwo: false };
export const GPU_BATCHING: Batching = { max: 64, padToPowerOfTwo: true };

/** How a session of `provider` made on this thread cuts its runs. */
export function batchingFor(provider: string): Batching {
  if (provider !== 'cpu') return GPU_BATCHING;
  return intraOpThreadsSet() === 1 ? ONE_THREAD_BATCHING : CPU_BATCHING;
}

/** Rows a run of `n` crops is given: `n`, or the next power of two (at most `max`) when padding. */
export function paddedRows(n: number, batching: Batching): number {
  if (!batching.padToPowerOfTwo) return n;
  let rows = 1;
  while (rows < n) rows *= 2;
  return Math.min(rows, Math.max(n, batching.max));
}

/** What turns aligned crops into vectors: the models themselves, or a stage on another thread. */
export interface FaceEmbedder {
  /** Stored with every embedding; differs whenever the vector space differs. */
  readonly modelId: string;
  readonly dim: number;
  readonly provider: string;
  /** Embeddings of aligned RGB crops (each 112·112·3 bytes), in order. */
  embed(crops: readonly Uint8Array[]): Promise<Float32Array[]>;
}

type EmbedderModel = ModelManifest['models'][number];

export function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export class Embedder implements FaceEmbedder {
  private constructor(
    readonly modelId: string,
    readonly dim: number,
    readonly provider: string,
    private readonly parts: Array<{ model: EmbedderModel; loaded: LoadedSession }>,
    /** How its runs are cut: by the provider unless the caller says. */
    readonly batching: Batching,
  ) {}

  static async load(name = DEFAULT_EMBEDDER, device: DeviceChoice = 'auto', notice?: (l: string) => void, dir = MODELS_DIR, batching?: Batching): Promise<Embedder> {
    const parts = [];
    for (const model of embedderModels(name, dir)) parts.push({ model, loaded: await sessionFor(join(dir, model.file), device, notice, model.graphOptimization) });
    const provider = parts[0]!.loaded.provider;
    return new Embedder(embedderModelId(name), embedderDim(name, dir), provider, parts, batching ?? batchingFor(provider));
  }

  async embed(crops: readonly Uint8Array[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let start = 0; start < crops.length; start += this.batching.max) {
      const batch = crops.slice(start, start + this.batching.max);
      const blocks = [];
      for (const part of this.parts) blocks.push(await this.runPart(part, batch));
      for (let i = 0; i < batch.length; i++) {
        const v = new Float32Array(this.dim);
        let offset = 0;
        for (const b of blocks) {
          v.set(b[i]!, offset);
          offset += b[i]!.length;
        }
        out.push(this.parts.length > 1 ? normalise(v) : v);
      }
    }
    return out;
  }

  private async runPart(part: { model: EmbedderModel; loaded: LoadedSession }, crops: readonly Uint8Array[]): Promise<Float32Array[]> {
    const { mean, std, name } = part.model.input;
    const size = ALIGNED_SIZE;
    const plane = size * size;
    // Padding rows stay zero; their outputs are dropped.
    const rows = paddedRows(crops.length, this.batching);
    const data = new Float32Array(rows * 3 * plane);
    crops.forEach((crop, n) => {
      const base = n * 3 * plane;
      for (let p = 0; p < plane; p++) {
        data[base + p] = (crop[3 * p]! - mean) / std;
        data[base + plane + p] = (crop[3 * p + 1]! - mean) / std;
        data[base + 2 * plane + p] = (crop[3 * p + 2]! - mean) / std;
      }
    });
    const input = new ort.Tensor('float32', data, [rows, 3, size, size]);
    const result = await runSession(part.loaded, { [name]: input });
    const flat = result[part.model.output!.name]!.data as Float32Array;
    const d = part.model.output!.size;
    return crops.map((_, n) => normalise(flat.slice(n * d, (n + 1) * d)));
  }
}

/**
 * @file The engine's models, loaded once on first use: the face detector and the embedder the
 * library is built with. Indexing, search by photo and drawn faces all ask here, so the app
 * loads each model once (ONNX sessions are also cached per file, runtime.ts).
 */
import { loadDetector } from './detect.ts';
import { DEFAULT_EMBEDDER, Embedder, embedderModelId } from './embed.ts';
import type { DeviceChoice, LoadedSession } from './runtime.ts';

export interface ModelOptions {
  device?: DeviceChoice;
  /** Embedder preset (embed.ts); the library's vectors are stored under its model id. */
  embedder?: string;
  modelsDir?: string;
  notice?: (line: string) => void;
}

export class ModelSet {
  readonly embedderName: string;
  private embedderPromise: Promise<Embedder> | null = null;

  constructor(readonly opts: ModelOptions = {}) {
    this.embedderName = opts.embedder ?? DEFAULT_EMBEDDER;
  }

  /** Known without loading anything: the id the current embedder's vectors are stored under. */
  get modelId(): string {
    return embedderModelId(this.embedderName);
  }

  get device(): DeviceChoice {
    return this.opts.device ?? 'auto';
  }

  embedder(): Promise<Embedder> {
    this.embedderPromise ??= Embedder.load(this.embedderName, this.device, this.opts.notice, this.opts.modelsDir);
    // A failed load (models missing) is tried again on the next call, not remembered.
    this.embedderPromise.catch(() => (this.embedderPromise = null));
    return this.embedderPromise;
  }

  detector(): Promise<LoadedSession> {
    return loadDetector(this.device, this.opts.notice, this.opts.modelsDir);
  }
}

/**
 * @file The shape of models/onnx/manifest.json, shared by the fetch step that writes it and
 * the engine that reads it, so preprocessing lives in data next to the weights.
 */
export interface ModelManifest {
  version: 1;
  models: Array<{
    id: string;
    file: string;
    /** sha256 of the ONNX file as written. */
    sha256: string;
    role: 'detector' | 'embedder';
    source: { pkg: string; path: string; sha256: string };
    licence: string;
    origin: string;
    /** The model sees (pixel - mean) / std; size is the square input side, null for any size. */
    input: { name: string; layout: 'NCHW'; channels: 'RGB'; mean: number; std: number; size: number | null };
    output?: { name: string; size: number };
    /** ONNX Runtime's graph optimisation level for this model; absent: 'all'. Chosen per model by measurement. */
    graphOptimization?: 'all' | 'extended';
    conversion: string;
  }>;
}

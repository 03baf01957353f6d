/**
 * @file Creates ONNX Runtime sessions on the best execution provider this machine has, and
 * falls back to CPU with one notice when the GPU path cannot start. Sessions are created
 * once per model file and cached for the life of the process.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import type { ModelManifest } from '../models/manifest.ts';

export type DeviceChoice = 'cpu' | 'gpu' | 'auto';

/** The GPU execution providers onnxruntime-node 1.30 ships for each platform, best first. */
export function gpuProvidersFor(platform: NodeJS.Platform): string[] {
  if (platform === 'win32') return ['dml', 'webgpu'];
  if (platform === 'darwin') return ['coreml', 'webgpu'];
  return ['webgpu'];
}

/** The Kith checkout or installed app folder (the parent of native/). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const MODELS_DIR = process.env.KITH_MODELS_DIR ?? join(REPO_ROOT, 'models', 'onnx');

export function loadManifest(dir = MODELS_DIR): ModelManifest {
  try {
    return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  } catch (err) {
    throw new Error(`model manifest missing in ${dir}: run \`npm run models\` (${(err as Error).message})`);
  }
}

export interface LoadedSession {
  session: ort.InferenceSession;
  /** Execution provider actually in use: 'cpu', 'webgpu', 'dml', 'coreml'. */
  provider: string;
}

const cache = new Map<string, Promise<LoadedSession>>();
/** GPU providers that already failed in this process: tried once, reported once. */
const failedProviders = new Map<string, string>();

/** The useful part of an ORT error: its last sentence, without the C++ source location. */
function shortReason(err: unknown): string {
  const first = String((err as Error)?.message ?? err).split('\n')[0]!;
  return first.split(/ was false\.\s*/).pop()!.trim();
}

async function create(path: string, device: DeviceChoice, notice: (line: string) => void): Promise<LoadedSession> {
  const base: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
  if (device !== 'cpu') {
    const fresh: string[] = [];
    for (const ep of gpuProvidersFor(process.platform)) {
      if (failedProviders.has(ep)) continue;
      try {
        const session = await ort.InferenceSession.create(path, { ...base, executionProviders: [ep] });
        return { session, provider: ep };
      } catch (err) {
        failedProviders.set(ep, shortReason(err));
        fresh.push(ep);
      }
    }
    const why = [...failedProviders].map(([ep, reason]) => `${ep}: ${reason}`).join('; ');
    if (device === 'gpu') throw new Error(`no GPU execution provider could start (${why})`);
    if (fresh.length > 0) notice(`no usable GPU (${why}); using CPU`);
  }
  const session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] });
  return { session, provider: 'cpu' };
}

/** Cached session for a model file on the chosen device. */
export function sessionFor(path: string, device: DeviceChoice, notice: (line: string) => void = () => {}): Promise<LoadedSession> {
  const key = `${device}:${path}`;
  let s = cache.get(key);
  if (!s) {
    s = create(path, device, notice);
    cache.set(key, s);
    s.catch(() => cache.delete(key));
  }
  return s;
}

export { ort };

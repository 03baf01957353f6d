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

export const MODELS_DIR =
  process.env.KITH_MODELS_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'models', 'onnx');

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

async function create(path: string, device: DeviceChoice, notice: (line: string) => void): Promise<LoadedSession> {
  const base: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
  if (device !== 'cpu') {
    const failures: string[] = [];
    for (const ep of gpuProvidersFor(process.platform)) {
      try {
        const session = await ort.InferenceSession.create(path, { ...base, executionProviders: [ep] });
        return { session, provider: ep };
      } catch (err) {
        failures.push(`${ep}: ${(err as Error).message.split('\n')[0]!.slice(-160)}`);
      }
    }
    if (device === 'gpu') throw new Error(`no GPU execution provider could start (${failures.join('; ')})`);
    notice(`no usable GPU (${failures.join('; ')}); using CPU`);
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

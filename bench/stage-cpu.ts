/**
 * @file Where an indexing run's time goes, in CPU milliseconds per photo: one thread analyses
 * the sample photo by photo, each stage on its own (hash, decode, detector input, detector,
 * alignment and quality, thumbnails, embedding), and the process's CPU time is read around each.
 * On a shared machine, CPU time moves far less with the load than wall time does, and on two
 * cores the pipeline's best end-to-end ÷ models-only ratio is about models ÷ all stages.
 */
import sharp from 'sharp';
import { alignFace } from '../native/pipeline/align.ts';
import { decodePhotoFile } from '../native/pipeline/decode.ts';
import { decodeAnchors, detectorInput, loadDetector, nms } from '../native/pipeline/detect.ts';
import { Embedder } from '../native/pipeline/embed.ts';
import { sha256File } from '../native/pipeline/photo-analysis.ts';
import { setIntraOpThreads } from '../native/pipeline/runtime.ts';
import { renderFaceThumb } from '../native/pipeline/thumbs.ts';

export interface StageCpu {
  photos: number;
  faces: number;
  /** CPU ms per photo by stage. */
  msPerPhoto: Record<'hash' | 'decode' | 'detectorInput' | 'detector' | 'align' | 'thumbs' | 'embed', number>;
  /** detector + embed over all stages: the most of its models' pace a 2-core pipeline can reach. */
  modelsShare: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Runs in this thread with one intra-op thread and one libvips thread, as a pool worker does.
 * Call it in a process that has made no sessions yet (the intra-op setting applies to new ones).
 */
export async function stageCpu(paths: readonly string[], embedderName: string): Promise<StageCpu> {
  setIntraOpThreads(1);
  sharp.concurrency(1);
  const detector = await loadDetector('cpu');
  const embedder = await Embedder.load(embedderName, 'cpu');
  const ms = { hash: 0, decode: 0, detectorInput: 0, detector: 0, align: 0, thumbs: 0, embed: 0 };
  const timed = async <T>(stage: keyof typeof ms, work: () => Promise<T> | T): Promise<T> => {
    const t0 = cpuMs();
    const out = await work();
    ms[stage] += cpuMs() - t0;
    return out;
  };
  let photos = 0;
  let faces = 0;
  // One untimed photo first: sessions allocate on their first run.
  for (const [i, path] of [paths[0]!, ...paths].entries()) {
    if (i === 1) for (const k of Object.keys(ms) as Array<keyof typeof ms>) ms[k] = 0;
    await timed('hash', () => sha256File(path));
    const photo = await timed('decode', () => decodePhotoFile(path)).catch(() => null);
    if (!photo) continue;
    const input = await timed('detectorInput', () => detectorInput(photo));
    const found = await timed('detector', async () => {
      const out = await detector.session.run({ data: input.tensor });
      return nms(decodeAnchors(out)).map((d) => ({ ...d, landmarks: d.landmarks.map((p) => ({ x: p.x / input.scaleX, y: p.y / input.scaleY })) }));
    });
    const boxes = found.map((d) => ({ x1: d.x1 / input.scaleX, y1: d.y1 / input.scaleY, x2: d.x2 / input.scaleX, y2: d.y2 / input.scaleY }));
    const crops = await timed('align', () => found.map((d) => alignFace(photo, d.landmarks)));
    await timed('thumbs', () => Promise.all(boxes.map((b) => renderFaceThumb(photo, b))));
    await timed('embed', () => (crops.length > 0 ? embedder.embed(crops) : []));
    if (i > 0) {
      photos++;
      faces += crops.length;
    }
  }
  const per = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, photos ? Math.round((v / photos) * 10) / 10 : 0])) as StageCpu['msPerPhoto'];
  const all = Object.values(ms).reduce((a, b) => a + b, 0);
  return { photos, faces, msPerPhoto: per, modelsShare: all > 0 ? Math.round(((ms.detector + ms.embed) / all) * 100) / 100 : 0 };
}

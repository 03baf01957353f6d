/**
 * @file Face alignment's fast sampler gives exactly the crops of the straightforward one (kept
 * here as the reference: every sub-sample through a bilinear lookup with bounds checks), on real
 * photos: group photos at the working size, a large portrait whose faces are shrunk 8× per axis,
 * and faces shifted partly off the frame, where the crop must be black.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { alignFace, ARCFACE_TEMPLATE, fitSimilarity, type RgbImage } from '../native/pipeline/align.ts';
import { decodePhotoFile } from '../native/pipeline/decode.ts';
import { detectFaces, loadDetector, type Point } from '../native/pipeline/detect.ts';
import type { LoadedSession } from '../native/pipeline/runtime.ts';
import { FACES } from './helpers.ts';

/** The sampler as first written: one bilinear lookup per sub-sample, every tap bounds-checked. */
function referenceAlign(image: RgbImage, landmarks: readonly Point[], size = 112): Uint8Array {
  const back = fitSimilarity(ARCFACE_TEMPLATE, landmarks);
  const k = Math.max(1, Math.min(8, Math.ceil(Math.hypot(back.a, back.b))));
  const out = new Uint8Array(size * size * 3);
  const { rgb, width: w, height: h } = image;
  const acc = [0, 0, 0];
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      acc[0] = acc[1] = acc[2] = 0;
      for (let sv = 0; sv < k; sv++) {
        for (let su = 0; su < k; su++) {
          const cu = u + (su + 0.5) / k - 0.5;
          const cv = v + (sv + 0.5) / k - 0.5;
          const x = back.a * cu - back.b * cv + back.tx;
          const y = back.b * cu + back.a * cv + back.ty;
          const x0 = Math.floor(x), y0 = Math.floor(y);
          const fx = x - x0, fy = y - y0;
          for (let dy = 0; dy <= 1; dy++) {
            const yy = y0 + dy;
            if (yy < 0 || yy >= h) continue;
            const wy = dy ? fy : 1 - fy;
            for (let dx = 0; dx <= 1; dx++) {
              const xx = x0 + dx;
              if (xx < 0 || xx >= w) continue;
              const wgt = wy * (dx ? fx : 1 - fx);
              const i = (yy * w + xx) * 3;
              acc[0]! += wgt * rgb[i]!;
              acc[1]! += wgt * rgb[i + 1]!;
              acc[2]! += wgt * rgb[i + 2]!;
            }
          }
        }
      }
      const o = (v * size + u) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = Math.round(acc[c]! / (k * k));
    }
  }
  return out;
}

let detector: LoadedSession;
before(async () => {
  detector = await loadDetector('cpu');
});

async function sameCrops(rel: string, minFaces: number): Promise<number> {
  const photo = await decodePhotoFile(join(FACES, rel));
  const faces = await detectFaces(detector, photo);
  assert.ok(faces.length >= minFaces, `${rel}: ${faces.length} faces`);
  let shrunk = 0;
  for (const f of faces) {
    // As found, and moved so part of the face lies off the top-left corner.
    const off = f.landmarks.map((p) => ({ x: p.x - f.x1 - 0.3 * (f.x2 - f.x1), y: p.y - f.y1 - 0.3 * (f.y2 - f.y1) }));
    for (const landmarks of [f.landmarks, off]) {
      assert.deepEqual(alignFace(photo, landmarks), referenceAlign(photo, landmarks), `${rel}: face at (${f.x1.toFixed(0)}, ${f.y1.toFixed(0)})`);
    }
    const back = fitSimilarity(ARCFACE_TEMPLATE, f.landmarks);
    if (Math.hypot(back.a, back.b) > 2) shrunk++;
  }
  return shrunk;
}

describe('face alignment', () => {
  it('gives byte-identical crops to the reference sampler on 2,000-px group photos', async () => {
    let shrunk = 0;
    for (const rel of ['groups/vladmandic-human/group-5.jpg', 'groups/face_recognition/obama_and_biden.jpg', 'groups/faceapi/bbt2.jpg']) {
      shrunk += await sameCrops(rel, 2);
    }
    assert.ok(shrunk >= 2, 'some faces are shrunk more than 2× per axis (several sub-samples per crop pixel)');
  });

  it('gives byte-identical crops for a face filling a large portrait (many sub-samples per crop pixel)', async () => {
    assert.equal(await sameCrops('portraits/deepface/p01_angelina/img11_reflection.jpg', 1), 1);
  });

  it('leaves the part of the crop outside the photo black', async () => {
    const photo = await decodePhotoFile(join(FACES, 'groups/faceapi/bbt2.jpg'));
    const [f] = await detectFaces(detector, photo);
    const off = f!.landmarks.map((p) => ({ x: p.x - f!.x2, y: p.y }));
    const crop = alignFace(photo, off);
    // The crop's left columns map to x < 0 in the photo.
    for (let v = 0; v < 112; v += 7) assert.deepEqual([...crop.subarray(v * 112 * 3, v * 112 * 3 + 3)], [0, 0, 0]);
  });
});

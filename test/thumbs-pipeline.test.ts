/**
 * @file A face thumbnail is cut, shrunk and padded in one libvips pipeline; it must look like the
 * two-step way it was first made (cut and pad to the square, then shrink the square), kept here as
 * the reference, on the real faces of a group photo, the half face at its edge included.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import type { RgbImage } from '../native/pipeline/align.ts';
import { decodePhotoFile } from '../native/pipeline/decode.ts';
import { detectFaces, loadDetector } from '../native/pipeline/detect.ts';
import { THUMB_SIZE, renderFaceThumb } from '../native/pipeline/thumbs.ts';
import { FACES } from './helpers.ts';

type Box = { x1: number; y1: number; x2: number; y2: number };

/** The two-step thumbnail: the padded square at photo resolution, then shrunk to THUMB_SIZE. */
async function referenceThumb(image: RgbImage, box: Box): Promise<Buffer> {
  const want = Math.max(box.x2 - box.x1, box.y2 - box.y1) * 1.6;
  const side = Math.max(1, Math.round(Math.min(want, image.width, image.height)));
  const start = (centre: number, limit: number) => {
    const centred = Math.round(centre - side / 2);
    const slide = Math.round(side * 0.1);
    if (centred < 0) return Math.min(0, centred + slide);
    if (centred + side > limit) return Math.max(limit - side, centred - slide);
    return centred;
  };
  const left = start((box.x1 + box.x2) / 2, image.width);
  const top = start((box.y1 + box.y2) / 2, image.height);
  const x1 = Math.min(Math.max(0, left), image.width - 1);
  const y1 = Math.min(Math.max(0, top), image.height - 1);
  const width = Math.max(1, Math.min(image.width, left + side) - x1);
  const height = Math.max(1, Math.min(image.height, top + side) - y1);
  const pad = { r: 128, g: 128, b: 128 };
  const square = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left: x1, top: y1, width, height })
    .extend({ left: x1 - left, top: y1 - top, right: side - width - (x1 - left), bottom: side - height - (y1 - top), background: pad })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return sharp(square.data, { raw: { width: square.info.width, height: square.info.height, channels: 3 } }).resize(THUMB_SIZE, THUMB_SIZE, { fit: 'fill' }).raw().toBuffer();
}

describe('face thumbnail pipeline', () => {
  it('matches the two-step thumbnail on every face of a group photo, the edge face too', async () => {
    const photo = await decodePhotoFile(join(FACES, 'groups/faceapi/bbt2.jpg'));
    const faces = await detectFaces(await loadDetector('cpu'), photo);
    assert.ok(faces.some((f) => f.x1 <= 1), 'the half face at the left edge is among them');
    for (const f of faces) {
      const { data, info } = await sharp(await renderFaceThumb(photo, f)).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([info.width, info.height], [THUMB_SIZE, THUMB_SIZE]);
      const ref = await referenceThumb(photo, f);
      let sum = 0;
      for (let i = 0; i < data.length; i++) sum += Math.abs(data[i]! - ref[i]!);
      // JPEG at quality 82 alone differs by ~1-2 levels on average from its raw source.
      assert.ok(sum / data.length < 4, `face at x ${f.x1.toFixed(0)}: mean difference ${(sum / data.length).toFixed(2)} levels`);
    }
  });
});

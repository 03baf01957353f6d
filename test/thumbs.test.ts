/**
 * @file Face thumbnails are centred on the face: a half face at the edge of a group photo is
 * padded grey on the cut side, not replaced by whoever stands next to it, while a tight portrait
 * still fills its square.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodePhotoFile } from '../native/pipeline/decode.ts';
import { detectFaces, loadDetector } from '../native/pipeline/detect.ts';
import { THUMB_SIZE, renderFaceThumb } from '../native/pipeline/thumbs.ts';
import { FACES } from './helpers.ts';

/** Mean and spread of one band of columns of a thumbnail (all channels). */
async function columns(jpeg: Buffer, from: number, to: number): Promise<{ mean: number; sd: number }> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const values: number[] = [];
  for (let y = 0; y < info.height; y++) for (let x = from; x < to; x++) for (let c = 0; c < 3; c++) values.push(data[(y * info.width + x) * 3 + c]!);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, sd: Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length) };
}

describe('face thumbnails', () => {
  it('centre a face cut by the left edge of a group photo, padding the missing side', async () => {
    const photo = await decodePhotoFile(join(FACES, 'groups/faceapi/bbt2.jpg'));
    const faces = await detectFaces(await loadDetector('cpu'), photo);
    const edge = faces.find((f) => f.x1 <= 1);
    assert.ok(edge, 'the half face at the left edge is found');
    const thumb = await renderFaceThumb(photo, edge);
    const meta = await sharp(thumb).metadata();
    assert.deepEqual([meta.width, meta.height], [THUMB_SIZE, THUMB_SIZE]);
    const pad = await columns(thumb, 0, 12);
    assert.ok(Math.abs(pad.mean - 128) < 6 && pad.sd < 6, `the cut side is plain padding (mean ${pad.mean.toFixed(1)}, sd ${pad.sd.toFixed(1)})`);
    const face = await columns(thumb, THUMB_SIZE / 2 - 10, THUMB_SIZE / 2 + 10);
    assert.ok(face.sd > 10, 'the middle shows the face itself');
  });

  it('fill the square with a tight portrait whose face fills the frame, with no padding', async () => {
    const photo = await decodePhotoFile(join(FACES, 'portraits/faceapi-bbt/leonard/leonard1.png'));
    const [face] = await detectFaces(await loadDetector('cpu'), photo);
    const thumb = await renderFaceThumb(photo, face!);
    for (const [from, to] of [[0, 8], [THUMB_SIZE - 8, THUMB_SIZE]] as const) {
      const band = await columns(thumb, from, to);
      assert.ok(!(Math.abs(band.mean - 128) < 3 && band.sd < 3), `columns ${from}-${to} are the photo, not padding`);
    }
  });

  it('keep a face well inside the photo unpadded', async () => {
    const photo = await decodePhotoFile(join(FACES, 'groups/faceapi/bbt2.jpg'));
    const faces = await detectFaces(await loadDetector('cpu'), photo);
    const inner = faces.find((f) => f.x1 > 100)!;
    const side = await columns(await renderFaceThumb(photo, inner), 0, 12);
    assert.ok(side.sd > 6, 'photo content, not padding, at the side');
  });
});

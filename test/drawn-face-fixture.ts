/**
 * @file A photo with a face the detector misses: leonard1.png pasted at 48 px into a 4000×3000
 * photo (the detector sees the photo at 960 px, where the face is 12 px), and the box a user
 * would draw around it. Shared by test/manual-face.test.ts and test/manual-face-ui.test.ts.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { decodePhotoFile } from '../native/pipeline/decode.ts';
import { detectFaces, loadDetector } from '../native/pipeline/detect.ts';
import { BBT } from './helpers.ts';

/** Where leonard1.png is pasted, and how large. */
export const PASTE = { left: 2400, top: 900, side: 48 };
export const CANVAS = { width: 4000, height: 3000 };

/** The portrait's face box (detected on the portrait itself) where it lands in the big photo. */
export async function drawnBox() {
  const detector = await loadDetector('cpu');
  const portrait = await decodePhotoFile(join(BBT, 'leonard', 'leonard1.png'));
  const d = (await detectFaces(detector, portrait))[0]!;
  const s = PASTE.side / portrait.width;
  return { x1: PASTE.left + d.x1 * s, y1: PASTE.top + d.y1 * s, x2: PASTE.left + d.x2 * s, y2: PASTE.top + d.y2 * s };
}

/** The crowd photo at `path`; `brightness` above 1 is the same photo brightened (an edit). */
export async function makeCrowdPhoto(path: string, brightness = 1): Promise<void> {
  const face = await sharp(join(BBT, 'leonard', 'leonard1.png')).resize(PASTE.side, PASTE.side).png().toBuffer();
  await sharp({ create: { ...CANVAS, channels: 3, background: { r: 120, g: 140, b: 110 } } })
    .composite([{ input: face, left: PASTE.left, top: PASTE.top }])
    .modulate({ brightness })
    .jpeg({ quality: 92 })
    .toFile(path);
}

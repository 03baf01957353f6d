/**
 * @file A library with one group that lacks the evidence of a person: seven Big Bang Theory
 * characters with five portraits each, and Stuart in one clear portrait plus one small face
 * (61 px, detector score 0.82) in the background of a bigger picture, the way strangers appear.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { BBT, copyFaces, facesIn } from './helpers.ts';

/** Fill `library` with the photos; returns the path of the picture with the small face. */
export async function makeMaybeLibrary(library: string): Promise<string> {
  copyFaces(library, facesIn('portraits/faceapi-bbt', (p) => !/stuart[1245]/.test(p)));
  mkdirSync(join(library, 'party'), { recursive: true });
  const crowd = join(library, 'party', 'crowd.jpg');
  await sharp(join(BBT, 'stuart', 'stuart1.png'))
    .resize(72, 72)
    .extend({ top: 200, bottom: 120, left: 300, right: 200, background: '#808080' })
    .jpeg()
    .toFile(crowd);
  return crowd;
}

/**
 * @file Measures what native/indexing/face-match.ts needs to tell "the same face, edited" from "another
 * face": every group photo is edited seven ways (re-encode, brightness, crop, pixel rotation,
 * EXIF rotation, half size, blur) and each original face is compared with its edited self
 * (found by the known geometry of the edit) and with every other face.
 *
 *   npx tsx bench/face-match.ts [groups folder] [embedder…]
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { analysePhoto } from '../native/pipeline/analyse.ts';
import { decodePhoto } from '../native/pipeline/decode.ts';
import { loadDetector } from '../native/pipeline/detect.ts';
import { cosine, Embedder } from '../native/pipeline/embed.ts';
import { matchFaces, type MatchablePhoto } from '../native/indexing/face-match.ts';
import { iou } from '../native/common/geometry.ts';
import { listFiles } from '../test/helpers.ts';

type Norm = { x1: number; y1: number; x2: number; y2: number };
interface Edit {
  name: string;
  apply: (upright: Buffer) => Promise<Buffer>;
  /** Where a normalised box of the original lands in the edited photo. */
  map: (b: Norm) => Norm;
}

const same = (b: Norm) => b;
const turn = (b: Norm): Norm => ({ x1: 1 - b.y2, y1: b.x1, x2: 1 - b.y1, y2: b.x2 });
const EDITS: Edit[] = [
  { name: 'quality 40', apply: (b) => sharp(b).jpeg({ quality: 40 }).toBuffer(), map: same },
  { name: 'brightness +30%', apply: (b) => sharp(b).modulate({ brightness: 1.3 }).jpeg().toBuffer(), map: same },
  {
    name: 'crop 80%',
    apply: async (b) => {
      const m = await sharp(b).metadata();
      return sharp(b)
        .extract({ left: Math.round(m.width * 0.1), top: Math.round(m.height * 0.1), width: Math.round(m.width * 0.8), height: Math.round(m.height * 0.8) })
        .jpeg()
        .toBuffer();
    },
    map: (b) => ({ x1: (b.x1 - 0.1) / 0.8, y1: (b.y1 - 0.1) / 0.8, x2: (b.x2 - 0.1) / 0.8, y2: (b.y2 - 0.1) / 0.8 }),
  },
  { name: 'rotate 90° (pixels)', apply: (b) => sharp(b).rotate(90).jpeg().toBuffer(), map: turn },
  { name: 'rotate 90° (EXIF)', apply: (b) => sharp(b).jpeg().withMetadata({ orientation: 6 }).toBuffer(), map: turn },
  {
    name: 'half size',
    apply: async (b) => sharp(b).resize({ width: Math.round((await sharp(b).metadata()).width / 2) }).jpeg().toBuffer(),
    map: same,
  },
  { name: 'blur', apply: (b) => sharp(b).blur(1.5).jpeg().toBuffer(), map: same },
];

async function main(): Promise<void> {
  const folder = process.argv[2] ?? join(import.meta.dirname, '..', '..', 'shared', 'faces', 'groups');
  const names = process.argv.length > 3 ? process.argv.slice(3) : ['ensemble', 'fr-feature'];
  const files = listFiles(folder).filter((f) => /\.jpe?g$/i.test(f));
  const detector = await loadDetector('cpu');
  for (const name of names) {
    const embedder = await Embedder.load(name, 'cpu');
    const analyse = async (bytes: Buffer): Promise<MatchablePhoto> => {
      const photo = await decodePhoto(bytes);
      const a = await analysePhoto(detector, photo);
      const vectors = await embedder.embed(a.crops);
      return {
        width: photo.originalWidth,
        height: photo.originalHeight,
        faces: a.faces.map((f, i) => ({ box: f.box, embedding: vectors[i]!, modelId: embedder.modelId })),
      };
    };
    const perEdit = new Map<string, { self: number[]; other: number[] }>();
    const selfCos: number[] = [];
    const otherInPhoto: number[] = [];
    const otherPhoto: number[] = [];
    let missed = 0;
    let wrong = 0;
    let kept = 0;
    let total = 0;
    const originals: MatchablePhoto[] = [];
    const lostByEdit = new Map<string, number>();
    for (const file of files) {
      const upright = await sharp(readFileSync(file)).rotate().jpeg({ quality: 95 }).toBuffer();
      const before = await analyse(upright);
      originals.push(before);
      for (const edit of EDITS) {
        const after = await analyse(await edit.apply(upright));
        const norm = (p: MatchablePhoto, i: number): Norm => {
          const b = p.faces[i]!.box;
          return { x1: b.x1 / p.width, y1: b.y1 / p.height, x2: b.x2 / p.width, y2: b.y2 / p.height };
        };
        const truth = new Map<number, number>();
        before.faces.forEach((_, i) => {
          const want = edit.map(norm(before, i));
          let bestJ = -1;
          let best = 0.5;
          after.faces.forEach((_, j) => {
            const o = iou(want, norm(after, j));
            if (o > best) [best, bestJ] = [o, j];
          });
          if (bestJ >= 0) truth.set(i, bestJ);
        });
        before.faces.forEach((o, i) =>
          after.faces.forEach((n, j) => {
            const c = cosine(o.embedding, n.embedding);
            const e = perEdit.get(edit.name) ?? { self: [], other: [] };
            perEdit.set(edit.name, e);
            if (truth.get(i) === j) {
              selfCos.push(c);
              e.self.push(c);
              if (c < 0.7) console.log(`  low: ${relative(folder, file)} ${edit.name} face ${i}: ${c.toFixed(3)} size ${o.box.x2 - o.box.x1}`);
            } else {
              otherInPhoto.push(c);
              e.other.push(c);
              if (c > 0.6) console.log(`  high: ${relative(folder, file)} ${edit.name} faces ${i}/${j}: ${c.toFixed(3)}`);
            }
          }),
        );
        const pairs = matchFaces(before, after);
        total += truth.size;
        for (const [i, j] of pairs) {
          if (truth.get(i) === j) kept++;
          else wrong++;
        }
        missed += [...truth.keys()].filter((i) => !pairs.some(([a]) => a === i)).length;
        lostByEdit.set(edit.name, (lostByEdit.get(edit.name) ?? 0) + before.faces.length - truth.size);
      }
    }
    for (let a = 0; a < originals.length; a++)
      for (let b = a + 1; b < originals.length; b++)
        for (const x of originals[a]!.faces) for (const y of originals[b]!.faces) otherPhoto.push(cosine(x.embedding, y.embedding));
    const q = (xs: number[], p: number) => [...xs].sort((s, t) => s - t)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!.toFixed(3);
    console.log(`${embedder.modelId}: ${files.length} photos × ${EDITS.length} edits`);
    console.log(`  same face, edited:        min ${q(selfCos, 0)}  1% ${q(selfCos, 0.01)}  median ${q(selfCos, 0.5)}  (n=${selfCos.length})`);
    console.log(`  other face, same photo:   max ${q(otherInPhoto, 1)}  99.9% ${q(otherInPhoto, 0.999)}  (n=${otherInPhoto.length})`);
    console.log(`  faces of different photos: max ${q(otherPhoto, 1)}  99.9% ${q(otherPhoto, 0.999)}  (n=${otherPhoto.length})`);
    for (const [e, v] of perEdit) console.log(`  ${e}: same face min ${q(v.self, 0)}, other face max ${q(v.other, 1)}`);
    console.log(`  faces the detector did not find again: ${[...lostByEdit].map(([e, n]) => `${e} ${n}`).join(', ')}`);
    console.log(`  matchFaces: ${kept}/${total} kept, ${missed} missed, ${wrong} wrong pairs`);
  }
}

await main();

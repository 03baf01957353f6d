/**
 * @file Which faces of an edited photo are the faces it had before. A photo whose content
 * changed (re-saved, brightened, cropped, rotated) is detected again; every new face that is
 * an old face keeps the old face's id, so the user's names and decisions about it survive.
 *
 * Two signals: the embedding (the face itself; survives crops and rotations, since alignment
 * makes every crop upright) and the box (where the face is in the upright photo, under
 * whichever quarter-turn best lines the old boxes up with the new ones). Thresholds were
 * measured by `npm run bench:face-match` (bench/face-match.ts) on real group photos; see
 * the constants.
 */
import { iou, normaliseBox, turnBox, type Box } from '../common/geometry.ts';

export interface MatchableFace {
  /** Box in the upright photo's pixels. */
  box: Box;
  embedding: Float32Array;
  modelId: string;
}

export interface MatchablePhoto {
  width: number;
  height: number;
  faces: readonly MatchableFace[];
}

/**
 * Same face by its vector alone: cosine >= 0.70. One run of bench/face-match.ts (ensemble,
 * 20 group photos x 7 edits) gave a median of 0.963 for a face and its edited self; faces
 * turned sideways score far lower (the detector's landmarks on them are poor), which is why
 * the place counts too. The same run's top scores between different faces (0.82-0.86) came
 * from repeated people and photos in that set, so the threshold is a judgement, not a fit:
 * high enough that a different photo of the same person rarely passes, low enough for heavy
 * re-encodes. matchFaces kept 423 of 472 faces with 2 wrong pairs before the lined-up rule.
 */
export const SAME_FACE_COSINE = 0.7;
/**
 * A face at its old place (box IoU >= 0.5 once the photos are lined up by a quarter-turn)
 * needs cosine >= 0.5, or nothing more when two or more faces line up (the same scene).
 */
export const SAME_PLACE_IOU = 0.5;
export const SAME_PLACE_COSINE = 0.5;

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/** Box overlaps old × new under the quarter-turn that lines the most of them up. */
function overlaps(before: MatchablePhoto, after: MatchablePhoto): number[][] {
  const olds = before.faces.map((f) => normaliseBox(f.box, before.width, before.height));
  const news = after.faces.map((f) => normaliseBox(f.box, after.width, after.height));
  let best: number[][] = olds.map(() => news.map(() => 0));
  let bestScore = 0;
  for (let q = 0; q < 4; q++) {
    const m = olds.map((o) => news.map((n) => iou(turnBox(o, q), n)));
    const score = m.reduce((s, row) => s + Math.max(0, ...row), 0);
    if (score > bestScore + 1e-9) {
      best = m;
      bestScore = score;
    }
  }
  return best;
}

/**
 * Pairs `[oldIndex, newIndex]` of faces that are the same face. Greedy on the strongest
 * evidence first (a handful of faces per photo: greedy and optimal assignment agree once
 * the thresholds leave only near-certain pairs).
 */
export function matchFaces(before: MatchablePhoto, after: MatchablePhoto): Array<[number, number]> {
  if (before.faces.length === 0 || after.faces.length === 0) return [];
  const place = overlaps(before, after);
  // Two or more faces in the same places (under one quarter-turn) mean the same scene: a face
  // at its old place is that face even when its vector moved (a sideways face gets poor
  // landmarks from the detector, so its vector after a rotation can be far from its own).
  const linedUp = place.filter((row) => Math.max(0, ...row) >= SAME_PLACE_IOU).length >= 2;
  const candidates: Array<{ i: number; j: number; strength: number }> = [];
  before.faces.forEach((o, i) =>
    after.faces.forEach((n, j) => {
      const sameSpace = o.modelId === n.modelId && o.embedding.length === n.embedding.length;
      const cos = sameSpace ? cosine(o.embedding, n.embedding) : null;
      const overlap = place[i]![j]!;
      const same =
        cos === null
          ? overlap >= SAME_PLACE_IOU // vectors from another model cannot be compared: the place decides
          : cos >= SAME_FACE_COSINE || (overlap >= SAME_PLACE_IOU && (linedUp || cos >= SAME_PLACE_COSINE));
      if (same) candidates.push({ i, j, strength: (cos ?? 0) + overlap });
    }),
  );
  candidates.sort((a, b) => b.strength - a.strength);
  const usedOld = new Set<number>();
  const usedNew = new Set<number>();
  const pairs: Array<[number, number]> = [];
  for (const c of candidates) {
    if (usedOld.has(c.i) || usedNew.has(c.j)) continue;
    usedOld.add(c.i);
    usedNew.add(c.j);
    pairs.push([c.i, c.j]);
  }
  return pairs.sort((a, b) => a[1] - b[1]);
}

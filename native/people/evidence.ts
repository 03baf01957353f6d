/**
 * @file Whether an unnamed group of faces is shown as a person or kept under "Maybe". Two
 * small, blurry faces of strangers in the background of unrelated photos can pass clustering's
 * rules; a person the user will want to name has evidence: clear faces seen in more than one
 * photo, alike. Near-duplicates (a photo and its resized copy) count once. Pure: no SQL.
 */
import { countObservations, isGoodFace, NEAR_DUPLICATE, type FaceQuality, type NearDuplicateRule, type RelativeBox } from './cluster.ts';

export interface EvidenceFace extends FaceQuality {
  photoId: number;
  vector: Float32Array;
  box?: RelativeBox;
}

export interface Evidence {
  /** Faces after folding near-duplicates into one. */
  observations: number;
  /** Of those, the clear ones: passing the quality gate, or large (see EvidenceRule.clearSize). */
  clearObservations: number;
  /** Mean cosine similarity over pairs of clear observations (0 with fewer than two). */
  cohesion: number;
}

/**
 * The rule: a group is shown when it holds at least `minClear` clear observations, or
 * `minClearAlike` whose mean similarity reaches `alike`. A face is clear when it passes the
 * quality gate or is at least `clearSize` px: a large face that failed the gate for its pose or
 * blur is still someone close to the camera, while strangers in the background are small.
 * Chosen on lfw-dev people A–D with `tsx bench/people-evidence.ts <db>` (a true person: two or
 * more labelled faces of one identity; a wrong group: no identity twice). A–D, 400 true people and
 * 55 wrong groups: 9 true people under Maybe, 21 wrong groups shown; Immich's "3 faces" puts 182
 * true people under Maybe (most people of a photo library are seen twice) for 2 wrong shown.
 * Held out, E–H (218 true, 20 wrong): 1 true person under Maybe, 10 wrong groups shown (Immich's:
 * 98 and 1). The wrong groups still shown are look-alikes with two clear faces, not strangers:
 * every group of one clear face and small background faces is under Maybe.
 */
export interface EvidenceRule {
  minClear: number;
  minClearAlike: number;
  alike: number;
  clearSize: number;
}

export const EVIDENCE_RULE: EvidenceRule = { minClear: 3, minClearAlike: 2, alike: 0.55, clearSize: 80 };

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Observations (near-duplicates folded), clear ones, and how alike the clear ones are. */
export function evidenceOf(
  faces: readonly EvidenceFace[],
  clearSize: number = EVIDENCE_RULE.clearSize,
  rule: NearDuplicateRule | null = NEAR_DUPLICATE,
): Evidence {
  const clear = faces.filter((f) => isGoodFace(f) || f.size >= clearSize);
  const goodUnits = collapse(clear, rule);
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < goodUnits.length; i++) {
    for (let j = i + 1; j < goodUnits.length; j++) {
      sum += dot(goodUnits[i]!.vector, goodUnits[j]!.vector);
      pairs++;
    }
  }
  return { observations: countObservations(faces, rule), clearObservations: goodUnits.length, cohesion: pairs > 0 ? sum / pairs : 0 };
}

/** One representative per near-duplicate set (the first met). */
function collapse(faces: readonly EvidenceFace[], rule: NearDuplicateRule | null): EvidenceFace[] {
  const kept: EvidenceFace[] = [];
  for (const f of faces) {
    if (!kept.some((k) => countObservations([k, f], rule) === 1)) kept.push(f);
  }
  return kept;
}

/** Whether a group with this evidence belongs under "Maybe" rather than among the people. */
export function isMaybe(e: Evidence, rule: EvidenceRule = EVIDENCE_RULE): boolean {
  if (e.clearObservations >= rule.minClear) return false;
  if (e.clearObservations >= rule.minClearAlike && e.cohesion >= rule.alike) return false;
  return true;
}

/**
 * @file Whether an unnamed group of faces is shown as a person or kept under "Maybe". Two
 * small, blurry faces of strangers in the background of unrelated photos can pass clustering's
 * rules; a person the user will want to name has evidence: good faces seen in more than one
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
  /** Of those, the ones with a face passing the quality gate. */
  goodObservations: number;
  /** Mean cosine similarity over pairs of good observations (0 with fewer than two). */
  cohesion: number;
}

/**
 * The rule: a group is shown when it holds at least `minGood` good observations, or
 * `minGoodAlike` good observations whose mean similarity reaches `alike`. Chosen on lfw-dev
 * people A–D by `tsx bench/people-evidence.ts` (figures in its header): a fixed count of 3
 * faces (Immich's) hides about a third of the true people seen exactly twice; two good,
 * clearly alike faces are enough evidence.
 */
export interface EvidenceRule {
  minGood: number;
  minGoodAlike: number;
  alike: number;
}

export const EVIDENCE_RULE: EvidenceRule = { minGood: 3, minGoodAlike: 2, alike: 0.6 };

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Observations (near-duplicates folded), good ones, and how alike the good ones are. */
export function evidenceOf(faces: readonly EvidenceFace[], rule: NearDuplicateRule | null = NEAR_DUPLICATE): Evidence {
  const good = faces.filter((f) => isGoodFace(f));
  const goodUnits = collapse(good, rule);
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < goodUnits.length; i++) {
    for (let j = i + 1; j < goodUnits.length; j++) {
      sum += dot(goodUnits[i]!.vector, goodUnits[j]!.vector);
      pairs++;
    }
  }
  return { observations: countObservations(faces, rule), goodObservations: goodUnits.length, cohesion: pairs > 0 ? sum / pairs : 0 };
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
  if (e.goodObservations >= rule.minGood) return false;
  if (e.goodObservations >= rule.minGoodAlike && e.cohesion >= rule.alike) return false;
  return true;
}

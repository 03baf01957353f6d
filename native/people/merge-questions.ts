/**
 * @file "Are these the same person?": pairs of people the clustering kept apart (two unnamed
 * people, or an unnamed one and a named one) ranked by the average-linkage similarity of their
 * faces, exactly as cluster.ts measures it. Candidate pairs come from the HNSW index (each
 * person's centroid searched once), never from comparing every person with every other. A pair
 * the user already said are different (faces kept apart, or faces declined for the named one)
 * is never asked again.
 */
import type { Neighbour } from '../search/ann.ts';
import type { MergeQuestion } from '../api/types.ts';
import { isGoodFace, summarisePerson } from './cluster.ts';
import type { Store } from '../store/index.ts';

/**
 * Average-linkage similarity from which a merge question is worth asking. Measured on lfw-dev
 * (bench/merge-questions-bench.ts, after a full cluster): of the pairs of people the clustering
 * left apart, 2 of the 3 with linkage >= 0.44 are one person, 1 of the 4 in [0.42, 0.44), and
 * 4 of the ~5,700 below 0.42. Few pairs: the floor is where "one person" stops being the exception.
 */
export const MERGE_FLOOR = 0.44;

/**
 * Linkage → how sure, interpolated linearly: 0.5 at the floor, as measured; above it lfw-dev has
 * too few pairs to measure, so the rise to 0.95 at 0.6 (far above where clustering merges large
 * groups itself, 0.45) is an estimate.
 */
const CALIBRATION: ReadonlyArray<readonly [number, number]> = [
  [MERGE_FLOOR, 0.5],
  [0.5, 0.75],
  [0.6, 0.95],
];

/** A merge question's confidence from its linkage (0–1). */
export function mergeConfidence(linkage: number): number {
  const first = CALIBRATION[0]!;
  if (linkage <= first[0]) return first[1] * Math.max(0, linkage / first[0]);
  for (let i = 1; i < CALIBRATION.length; i++) {
    const [x0, y0] = CALIBRATION[i - 1]!;
    const [x1, y1] = CALIBRATION[i]!;
    if (linkage <= x1) return y0 + ((y1 - y0) * (linkage - x0)) / (x1 - x0);
  }
  return CALIBRATION.at(-1)![1];
}

/** A person as the questions see it: the summed (good) face vectors the linkage is made from. */
interface PersonVectors {
  id: number;
  name: string | null;
  faceIds: number[];
  sum: Float64Array;
  count: number;
}

export interface MergeCandidate {
  a: PersonVectors;
  b: PersonVectors;
  /** Average cosine similarity over every pair of their (good) faces. */
  linkage: number;
}

/**
 * How many more neighbours than a person's own faces its centroid search asks for. On lfw-dev,
 * 20 finds every pair with linkage >= 0.35 that 150 finds (10 misses 2 of 132).
 */
const NEIGHBOURS_BEYOND_OWN = 20;
const MAX_SEARCH = 600;
const THUMBS_SHOWN = 4;

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

const pairKey = (x: number, y: number) => (x < y ? `${x}:${y}` : `${y}:${x}`);

/** Every live, shown person with faces of `modelId`, summarised as cluster.ts summarises people. */
function personVectors(store: Store, modelId: string): PersonVectors[] {
  const rows = new Map([...store.faces.iterate(modelId)].map((r) => [r.id, r]));
  const held = new Map<number, Array<{ faceId: number; source: string }>>();
  for (const a of store.people.assignments()) held.set(a.personId, [...(held.get(a.personId) ?? []), a]);
  const out: PersonVectors[] = [];
  for (const p of store.people.summaries()) {
    if (p.hidden || p.faceCount === 0) continue;
    const members = (held.get(p.id) ?? []).flatMap(({ faceId, source }) => {
      const row = rows.get(faceId);
      return row ? [{ faceId, vector: row.embedding, photoId: row.photoId, good: source === 'user' || isGoodFace(row) }] : [];
    });
    if (members.length === 0) continue;
    const s = summarisePerson(p.id, members);
    out.push({ id: p.id, name: p.name, faceIds: members.map((m) => m.faceId), sum: s.sum, count: s.count });
  }
  return out;
}

/**
 * Every pair of people (at least one unnamed) that one's centroid search reaches the other's
 * faces, with their linkage, highest first. No floor and no filtering of answered pairs: the
 * benchmark measures on this.
 */
export function mergeCandidates(store: Store, modelId: string, search: (vector: Float32Array, k: number) => readonly Neighbour[]): MergeCandidate[] {
  const people = personVectors(store, modelId);
  const byId = new Map(people.map((p) => [p.id, p]));
  const holder = new Map<number, number>();
  for (const p of people) for (const f of p.faceIds) holder.set(f, p.id);
  const seen = new Set<string>();
  const out: MergeCandidate[] = [];
  for (const p of people) {
    const norm = Math.sqrt(dot(p.sum, p.sum));
    if (norm === 0) continue;
    const centroid = Float32Array.from(p.sum, (x) => x / norm);
    for (const hit of search(centroid, Math.min(MAX_SEARCH, p.faceIds.length + NEIGHBOURS_BEYOND_OWN))) {
      const q = byId.get(holder.get(hit.faceId) ?? -1);
      if (!q || q.id === p.id || (p.name !== null && q.name !== null)) continue;
      const key = pairKey(p.id, q.id);
      if (seen.has(key)) continue;
      seen.add(key);
      const [a, b] = p.id < q.id ? [p, q] : [q, p];
      out.push({ a, b, linkage: dot(a.sum, b.sum) / (a.count * b.count) });
    }
  }
  return out.sort((x, y) => y.linkage - x.linkage || x.a.id - y.a.id || x.b.id - y.b.id);
}

/** Pairs of people the user already said are different: faces kept apart across them, or one's faces declined for the other. */
function answeredPairs(store: Store): Set<string> {
  const holder = new Map(store.people.assignments().map((a) => [a.faceId, a.personId]));
  const out = new Set<string>();
  for (const [x, y] of store.people.apartPairs()) {
    const p = holder.get(x);
    const q = holder.get(y);
    if (p !== undefined && q !== undefined && p !== q) out.add(pairKey(p, q));
  }
  for (const d of store.people.decisions()) {
    const p = holder.get(d.faceId);
    if (d.kind === 'reject' && p !== undefined && p !== d.personId) out.add(pairKey(p, d.personId));
  }
  return out;
}

/**
 * Open merge questions, the most informative first: those whose "yes" places the most faces,
 * weighted by how likely the yes is (confidence × the faces that would get a person or a name).
 */
export function mergeQuestions(store: Store, modelId: string, search: (vector: Float32Array, k: number) => readonly Neighbour[], floor = MERGE_FLOOR): MergeQuestion[] {
  const answered = answeredPairs(store);
  const out: Array<MergeQuestion & { weight: number }> = [];
  for (const { a, b, linkage } of mergeCandidates(store, modelId, search)) {
    if (linkage < floor) break;
    if (answered.has(pairKey(a.id, b.id))) continue;
    // The named person keeps the name; between two unnamed people the larger one stays.
    const [from, into] = b.name !== null || (a.name === null && b.faceIds.length > a.faceIds.length) ? [a, b] : [b, a];
    const confidence = mergeConfidence(linkage);
    out.push({
      key: `merge:${from.id}:${into.id}`,
      fromId: from.id,
      intoId: into.id,
      intoName: into.name,
      fromFaceIds: store.views.personFaces(from.id, 0, THUMBS_SHOWN).map((f) => f.id),
      intoFaceIds: store.views.personFaces(into.id, 0, THUMBS_SHOWN).map((f) => f.id),
      fromFaceCount: from.faceIds.length,
      intoFaceCount: into.faceIds.length,
      linkage,
      confidence,
      weight: confidence * (into.name !== null ? from.faceIds.length : Math.min(from.faceIds.length, into.faceIds.length)),
    });
  }
  out.sort((x, y) => y.weight - x.weight || y.linkage - x.linkage || x.key.localeCompare(y.key));
  return out.map(({ weight: _weight, ...q }) => q);
}

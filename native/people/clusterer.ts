/**
 * @file Turns clustering output into people while keeping every user decision: confirmed
 * faces are must-link groups, rejections are cannot-link, and fresh clusters inherit the
 * person ids (and so the names) of the faces they mostly held before. Runs in full (every
 * face re-clustered) or incrementally (only faces no person holds yet).
 */
import { FaceIndex, knnAmong, type HitLists, type SearchAllOptions } from '../search/ann.ts';
import {
  assignIncremental,
  CLUSTER_RULES,
  clusterFaces,
  KNN_K,
  isGoodFace,
  relativeBox,
  summarisePerson,
  type ClusterFace,
  type FlatKnn,
  type Knn,
} from './cluster.ts';
import { idPositions } from '../common/id-positions.ts';
import type { ClusterSummary as ApiClusterSummary } from '../api/types.ts';
import type { Decision, FaceRow, Store } from '../store/index.ts';
import type { ClusterSource } from '../store/faces.ts';

/** The API's summary of a clustering pass, with where its time went (for `bench:cluster`). */
export interface ClusterSummary extends ApiClusterSummary {
  /** Where a full run's time went, ms: reading faces and decisions, the k-NN graph, clustering, writing people. */
  stages?: { read: number; knn: number; cluster: number; write: number; knnByWorkers: number; knnReused: number };
  /** Where an incremental run's time went, ms: reading, searching the library, the candidate people's summaries, the k-NN among the faces placed, placing, writing. */
  incrementalStages?: { read: number; search: number; summaries: number; knn: number; place: number; write: number };
}

/**
 * Neighbours per face the full run asks the index for: faces of another model or gone since
 * are dropped, so a few more than KNN_K (and one more for the face itself).
 */
const FULL_SEARCH_K = KNN_K + 8 + 1;

/** Position of a face in the faces clustered, by id. */
type FacePosition = (faceId: number) => number | undefined;

/** The k-NN graph from the index's hits by face id: faces outside those clustered dropped (self is dropped by clusterFaces). */
function knnFromHits(pos: FacePosition, hits: HitLists): FlatKnn {
  const j = new Int32Array(hits.faceIds.length).fill(-1);
  for (let q = 0; q < hits.counts.length; q++) {
    for (let r = q * hits.k; r < q * hits.k + hits.counts[q]!; r++) j[r] = pos(hits.faceIds[r]!) ?? -1;
  }
  return { k: hits.k, counts: hits.counts, j, similarity: hits.similarities };
}

/** A face as clustering sees it: good when it passes the gate or the user vouched for it; placed in its photo. */
function clusterFace(f: ClusterSource, confirmed: { has(faceId: number): boolean }, sizes: PhotoSizes): ClusterFace {
  const size = sizes.get(f.photoId);
  return { id: f.id, photoId: f.photoId, vector: f.embedding, good: confirmed.has(f.id) || isGoodFace(f), box: relativeBox(f.box, size?.width ?? null, size?.height ?? null) };
}

type PhotoSizes = { get(photoId: number): { width: number | null; height: number | null } | undefined };

/**
 * Sizes of the photos an incremental run looks at, read as asked: it places a few hundred faces,
 * and reading every photo of a 100k-photo library cost it ~0.5 s.
 */
function photoSizesAsked(store: Store): PhotoSizes {
  const known = new Map<number, { width: number | null; height: number | null } | undefined>();
  return {
    get(photoId) {
      if (!known.has(photoId)) {
        const p = store.photos.getById(photoId);
        known.set(photoId, p && { width: p.width, height: p.height });
      }
      return known.get(photoId);
    },
  };
}

/** Every face of the model, with the confirmed ones marked good (the user vouched for them). */
function loadFaces(store: Store, modelId: string, confirmed: ReadonlySet<number>): ClusterFace[] {
  const sizes = store.photos.sizes();
  const faces: ClusterFace[] = [];
  for (const f of store.faces.forClustering(modelId)) faces.push(clusterFace(f, confirmed, sizes));
  return faces;
}

function decisionsByKind(decisions: Decision[]) {
  const confirmedOf = new Map<number, number>(); // face → person
  const rejected: Array<[number, number]> = []; // [face, person]
  for (const d of decisions) {
    if (d.kind === 'confirm') confirmedOf.set(d.faceId, d.personId);
    else rejected.push([d.faceId, d.personId]);
  }
  return { confirmedOf, rejected };
}

export class PeopleClusterer {
  /** `search` tunes the k-NN pass of a full run (worker threads, its cache); the results are the same either way. */
  constructor(
    private readonly store: Store,
    private readonly search: SearchAllOptions = {},
  ) {}

  /** Re-cluster every face; user facts are replayed onto the result. */
  async full(index: FaceIndex): Promise<ClusterSummary> {
    const t0 = performance.now();
    const people = this.store.people;
    const { confirmedOf, rejected } = decisionsByKind(people.decisions());
    const faces = loadFaces(this.store, index.modelId, new Set(confirmedOf.keys()));
    const pos = idPositions(faces.map((f) => f.id));

    const groups = new Map<number, number[]>();
    for (const [faceId, personId] of confirmedOf) {
      const i = pos(faceId);
      if (i !== undefined) groups.set(personId, [...(groups.get(personId) ?? []), i]);
    }
    // Resolved once per person, not per face: each is a recursive query, 60k of them at 100k faces.
    const current = new Map<number, number>();
    const resolve = (id: number) => current.get(id) ?? current.set(id, people.resolve(id) ?? id).get(id)!;
    const previous = new Map(people.assignments().map((a) => [a.faceId, resolve(a.personId)]));
    const cannotLink = this.cannotLinks(pos, rejected, groups, previous);
    const t1 = performance.now();
    const hits = await index.searchAll(
      faces.map((f) => ({ faceId: f.id, vector: f.vector })),
      FULL_SEARCH_K,
      this.search,
    );
    const t2 = performance.now();
    const result = clusterFaces(faces, knnFromHits(pos, hits), {
      mustLink: [...groups.values()],
      cannotLink,
    });
    const t3 = performance.now();

    const rejectedSet = new Set(rejected.map(([f, p]) => `${f}:${p}`));
    let newPeople = 0;
    let assigned = 0;
    this.store.transaction(() => {
      people.clearMachineAssignments();
      const claimed = new Set<number>();
      // Clusters holding confirmed faces claim their person first; then the rest, largest first.
      const ordered = result.clusters
        .map((members) => ({ members, owner: this.owner(members.map((i) => faces[i]!.id), confirmedOf) }))
        .sort((a, b) => Number(b.owner !== null) - Number(a.owner !== null) || b.members.length - a.members.length);
      for (const { members, owner } of ordered) {
        const ids = members.map((i) => faces[i]!.id);
        let personId = owner ?? this.inherit(ids, previous, claimed);
        if (personId === null || claimed.has(personId)) {
          personId = people.create(null);
          newPeople++;
        }
        claimed.add(personId);
        for (const faceId of ids) {
          if (confirmedOf.has(faceId) || rejectedSet.has(`${faceId}:${personId}`)) continue;
          people.assign(faceId, personId, 'cluster');
          assigned++;
        }
      }
      people.pruneEmpty();
      this.markClustered(index.modelId);
    });
    const stages = { read: t1 - t0, knn: t2 - t1, cluster: t3 - t2, write: performance.now() - t3, knnByWorkers: hits.workerAnswered, knnReused: hits.reused };
    return { ...this.summary('full', faces.length, newPeople, assigned, t0, index.modelId), stages };
  }

  /**
   * Place the faces added since the last clustering (and the unassigned faces near them)
   * without touching anyone's existing faces. The first clustering, and the first after a
   * model change, is a full one.
   */
  async incremental(index: FaceIndex): Promise<ClusterSummary> {
    if (this.store.meta('clustered_model') !== index.modelId) return this.full(index);
    const t0 = performance.now();
    const people = this.store.people;
    const { confirmedOf, rejected } = decisionsByKind(people.decisions());
    const holder = new Map(people.assignments().map((a) => [a.faceId, a.personId]));
    const sizes = photoSizesAsked(this.store);
    const toCluster = (f: FaceRow): ClusterFace => clusterFace(f, confirmedOf, sizes);
    const lastClustered = Number(this.store.meta('clustered_through_face') ?? 0);
    const added = this.store.faces.facesAfter(index.modelId, lastClustered).filter((f) => !holder.has(f.id));
    if (added.length === 0) {
      this.markClustered(index.modelId);
      return this.summary('incremental', 0, 0, 0, t0, index.modelId);
    }
    const t1 = performance.now();
    // Neighbours of the new faces: people they may join, and old unassigned faces they may now pair with.
    const hitsOf = new Map(added.map((f) => [f.id, index.search(f.embedding, KNN_K)]));
    const fresh = new Map(added.map((f) => [f.id, toCluster(f)]));
    for (const hits of hitsOf.values()) {
      for (const h of hits) {
        if (holder.has(h.faceId) || fresh.has(h.faceId)) continue;
        const row = this.store.faces.get(h.faceId);
        if (row) fresh.set(row.id, toCluster(row));
      }
    }
    const faces = [...fresh.values()].sort((a, b) => a.id - b.id);
    // Only people with a face at least `near` close can change a decision: a person's linkage to
    // a face (or a new group) is a mean over its faces, so under `near` it is too far to be
    // joined (a join needs ≥ linkage, or ≥ join for a poor face) and too far to be the
    // runner-up that blocks a poor face (the best is ≥ join, ahead by ≥ joinMargin). Leaving
    // them out spares reading all their faces for a summary.
    const near = Math.min(CLUSTER_RULES.linkage, CLUSTER_RULES.join - CLUSTER_RULES.joinMargin);
    const candidateIds = (i: number) =>
      (hitsOf.get(faces[i]!.id) ?? index.search(faces[i]!.vector, KNN_K)).flatMap((h) => {
        const p = h.similarity >= near ? holder.get(h.faceId) : undefined;
        return p === undefined ? [] : [p];
      });
    const candidates = faces.map((_, i) => candidateIds(i));
    const t2 = performance.now();
    // A summary needs each member's vector, photo and quality, not its place in the frame (no photo reads).
    const summaries = [...new Set(candidates.flat())].flatMap((personId) => {
      const members = people.facesOf(personId).flatMap(({ faceId }) => {
        const row = this.store.faces.get(faceId);
        return row?.modelId === index.modelId ? [{ vector: row.embedding, photoId: row.photoId, good: confirmedOf.has(row.id) || isGoodFace(row) }] : [];
      });
      return members.length > 0 ? [summarisePerson(personId, members)] : [];
    });
    const pos = new Map(faces.map((f, i) => [f.id, i]));
    const cannotJoin = rejected.flatMap(([faceId, personId]) => {
      const i = pos.get(faceId);
      return i === undefined ? [] : [[i, personId] as [number, number]];
    });
    // Faces the user put apart: a new face never joins its partner's person, nor its partner's new group.
    const cannotLink: Array<[number, number]> = [];
    for (const [a, b] of people.apartPairs()) {
      for (const [x, y] of [[a, b], [b, a]] as const) {
        const i = pos.get(x);
        if (i === undefined) continue;
        const j = pos.get(y);
        const holderOfY = holder.get(y);
        if (j !== undefined && x < y) cannotLink.push([i, j]);
        else if (holderOfY !== undefined) cannotJoin.push([i, holderOfY]);
      }
    }
    const t3 = performance.now();
    const knn = knnAmong(faces.map((f) => f.vector), KNN_K);
    const t4 = performance.now();
    const result = assignIncremental(faces, knn, summaries, {
      candidates: (i) => candidates[i]!,
      cannotJoin,
      cannotLink,
    });
    const t5 = performance.now();

    let newPeople = 0;
    this.store.transaction(() => {
      for (const { face, person } of result.joins) people.assign(faces[face]!.id, person, 'cluster');
      for (const cluster of result.clusters) {
        const personId = people.create(null);
        newPeople++;
        for (const i of cluster) people.assign(faces[i]!.id, personId, 'cluster');
      }
      this.markClustered(index.modelId);
    });
    const assigned = result.joins.length + result.clusters.reduce((n, c) => n + c.length, 0);
    const incrementalStages = { read: t1 - t0, search: t2 - t1, summaries: t3 - t2, knn: t4 - t3, place: t5 - t4, write: performance.now() - t5 };
    return { ...this.summary('incremental', faces.length, newPeople, assigned, t0, index.modelId), incrementalStages };
  }

  /**
   * Pairs of face positions that may never share a cluster: faces the user put apart, and a
   * rejected face with the faces its person holds (confirmed, or as the clustering left them).
   */
  private cannotLinks(
    pos: FacePosition,
    rejected: ReadonlyArray<[number, number]>,
    groups: ReadonlyMap<number, number[]>,
    previous: ReadonlyMap<number, number>,
  ): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const [a, b] of this.store.people.apartPairs()) {
      const i = pos(a);
      const j = pos(b);
      if (i !== undefined && j !== undefined) out.push([i, j]);
    }
    const heldBy = new Map<number, number[]>();
    for (const [faceId, personId] of previous) {
      const j = pos(faceId);
      if (j !== undefined) heldBy.set(personId, [...(heldBy.get(personId) ?? []), j]);
    }
    for (const [faceId, personId] of rejected) {
      const i = pos(faceId);
      if (i === undefined) continue;
      for (const j of new Set([...(groups.get(personId) ?? []), ...(heldBy.get(personId) ?? [])])) if (j !== i) out.push([i, j]);
    }
    return out;
  }

  /** Remember how far clustering has got, so the next incremental run knows which faces are new. */
  private markClustered(modelId: string): void {
    this.store.setMeta('clustered_model', modelId);
    this.store.setMeta('clustered_through_face', String(this.store.faces.maxId()));
  }

  /** The person whose confirmed faces are in this cluster (the most of them, if several). */
  private owner(faceIds: number[], confirmedOf: ReadonlyMap<number, number>): number | null {
    const counts = new Map<number, number>();
    for (const id of faceIds) {
      const p = confirmedOf.get(id);
      if (p !== undefined) counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? null;
  }

  /** The unclaimed person most of these faces belonged to before, so ids (and names) carry over. */
  private inherit(faceIds: number[], previous: ReadonlyMap<number, number>, claimed: ReadonlySet<number>): number | null {
    const counts = new Map<number, number>();
    for (const id of faceIds) {
      const p = previous.get(id);
      if (p !== undefined && !claimed.has(p)) counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? null;
  }

  private summary(mode: ClusterSummary['mode'], faces: number, newPeople: number, assigned: number, t0: number, modelId: string): ClusterSummary {
    // A count of the people: summaries() would also pick each one's best face (~0.25-0.45 s at 100k faces).
    const people = this.store.people.count();
    const unassigned = this.store.views.unassignedFaces(modelId, 0, 0).total;
    return { mode, faces, people, newPeople, assigned, unassigned, ms: performance.now() - t0 };
  }
}

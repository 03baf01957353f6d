/**
 * @file Search by face: the faces most like a face of the library, or like each face of a photo
 * from outside it (detect → align → embed → HNSW), with the people among them. Owns the
 * library's HNSW index for the engine: opened on first use, let go when an indexing run
 * rewrote it, and kept in step when a face is drawn or undone.
 */
import { UserError } from '../common/user-error.ts';
import type { SearchGroup, SearchHit, SearchPersonHit, SearchResult } from '../api/types.ts';
import { alignFace } from '../pipeline/align.ts';
import { decodePhoto } from '../pipeline/decode.ts';
import { detectFaces } from '../pipeline/detect.ts';
import type { ModelSet } from '../pipeline/models.ts';
import { renderFaceThumb } from '../pipeline/thumbs.ts';
import type { Store } from '../store/index.ts';
import { FaceIndex } from './ann.ts';

/**
 * Cosine similarity from which search offers a face as alike: the level only 1 in 10,000
 * different-person pairs of lfw-dev people A–D reach (`bench/search-threshold.ts`), where 97%
 * of same-person pairs pass. 1 in 1,000 (0.37) would keep 98% but let a stranger's photo
 * find a false match among every thousand faces of the library; search lists faces, so the
 * stricter end is the one a user sees.
 */
export const SEARCH_THRESHOLD = 0.435;

/** People among `hits`, each at their best similarity, most similar first. */
function peopleOf(hits: readonly SearchHit[]): SearchPersonHit[] {
  const people = new Map<number, SearchPersonHit>();
  for (const h of hits) {
    if (h.personId === null) continue;
    const best = people.get(h.personId);
    if (!best || best.similarity < h.similarity) people.set(h.personId, { personId: h.personId, name: h.personName, similarity: h.similarity });
  }
  return [...people.values()].sort((a, b) => b.similarity - a.similarity);
}

/** The whole answer from one group per query face; a face hit by several keeps its best. */
function resultOf(groups: SearchGroup[]): SearchResult {
  const hits = new Map<number, SearchHit>();
  for (const g of groups) for (const h of g.hits) if ((hits.get(h.faceId)?.similarity ?? -1) < h.similarity) hits.set(h.faceId, h);
  const all = [...hits.values()].sort((a, b) => b.similarity - a.similarity);
  return { queryFaces: groups.length, hits: all, people: peopleOf(all), groups, threshold: SEARCH_THRESHOLD };
}

const group = (thumb: string | null, hits: SearchHit[]): SearchGroup => ({ thumb, hits, people: peopleOf(hits) });

export class SearchService {
  private faceIndex: FaceIndex | null = null;

  constructor(
    private readonly store: Store,
    private readonly models: ModelSet,
  ) {}

  /** The HNSW index for the current model, opened (and synced with SQLite) on first use. */
  async index(): Promise<FaceIndex> {
    if (!this.faceIndex) {
      const e = await this.models.embedder();
      this.faceIndex = FaceIndex.open(this.store, e.modelId, e.dim);
    }
    return this.faceIndex;
  }

  /** An indexing run rewrote the index file: open it again on next use. */
  reopen(): void {
    this.faceIndex = null;
  }

  /** Faces were added or removed outside an indexing run (a drawn face, its undo). */
  async sync(): Promise<void> {
    const index = await this.index();
    if (index.syncWith(this.store)) index.save();
  }

  /** Like `sync`, without loading the embedder when the index was never opened. */
  syncIfOpen(): void {
    if (this.faceIndex?.syncWith(this.store)) this.faceIndex.save();
  }

  async byFace(faceId: number, k: number): Promise<SearchResult> {
    const face = this.store.faces.get(faceId);
    if (!face) throw new UserError(`no face ${faceId}`);
    if (face.modelId !== this.models.modelId) throw new UserError('this face has not been embedded with the current model yet');
    return resultOf([group(null, await this.nearest(face.embedding, k, faceId))]);
  }

  /** Faces most like each face in a photo from outside the library. */
  async byPhoto(base64: string, k: number): Promise<SearchResult> {
    const photo = await decodePhoto(Buffer.from(base64, 'base64')).catch((err: Error) => {
      throw new UserError(err.message);
    });
    const faces = (await detectFaces(await this.models.detector(), photo)).sort((a, b) => a.x1 - b.x1);
    if (faces.length === 0) return resultOf([]);
    const vectors = await (await this.models.embedder()).embed(faces.map((f) => alignFace(photo, f.landmarks)));
    const groups: SearchGroup[] = [];
    for (const [i, f] of faces.entries()) {
      const thumb = `data:image/jpeg;base64,${(await renderFaceThumb(photo, f)).toString('base64')}`;
      groups.push(group(thumb, await this.nearest(vectors[i]!, k)));
    }
    return resultOf(groups);
  }

  /** Up to `k` faces at least SEARCH_THRESHOLD alike, most similar first. */
  private async nearest(vector: Float32Array, k: number, exclude?: number): Promise<SearchHit[]> {
    const index = await this.index();
    return index
      .search(vector, k + (exclude === undefined ? 0 : 1))
      .filter((h) => h.faceId !== exclude && h.similarity >= SEARCH_THRESHOLD)
      .slice(0, k)
      .flatMap((h) => {
        const v = this.store.views.face(h.faceId);
        return v ? [{ faceId: h.faceId, photoId: v.photoId, similarity: h.similarity, personId: v.personId, personName: v.personName }] : [];
      });
  }
}

/**
 * @file Search by face: the last query (a face of the library, or a photo from disk) and its
 * answer, kept while the user opens a result and comes back.
 */
import { api, type SearchResult } from '../api/client.ts';

export type SearchQuery = { kind: 'face'; faceId: number } | { kind: 'photo'; name: string; previewUrl: string };

class Search {
  query = $state<SearchQuery | null>(null);
  result = $state<SearchResult | null>(null);
  loading = $state(false);
  error = $state<string | null>(null);
  private seq = 0;

  async byFace(faceId: number): Promise<void> {
    await this.runQuery({ kind: 'face', faceId }, () => api.searchByFace(faceId, 48));
  }

  async byPhoto(file: File): Promise<void> {
    const previous = this.query;
    if (previous?.kind === 'photo') URL.revokeObjectURL(previous.previewUrl);
    await this.runQuery({ kind: 'photo', name: file.name, previewUrl: URL.createObjectURL(file) }, async () =>
      api.searchByPhoto(await toBase64(file), 24),
    );
  }

  private async runQuery(query: SearchQuery, answer: () => Promise<SearchResult>): Promise<void> {
    const mine = ++this.seq;
    this.query = query;
    this.result = null;
    this.error = null;
    this.loading = true;
    try {
      const result = await answer();
      if (mine === this.seq) this.result = result;
    } catch (err) {
      if (mine === this.seq) this.error = (err as Error).message;
    } finally {
      if (mine === this.seq) this.loading = false;
    }
  }
}

/** The file's bytes as base64, read in the browser (the engine never sees a path). */
export async function toBase64(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export const search = new Search();

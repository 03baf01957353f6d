/**
 * @file The library as a whole, for the status bar, the Library screen, `kith stats`,
 * `kith errors` and `kith export --json`: counts, the files Kith could not read (and photo
 * metadata it could not apply), and every face with its person.
 */
import type { ExportedFace, LibraryStats, PhotoError, Suggestion } from '../api/types.ts';
import type { Store } from '../store/index.ts';

export class LibraryViews {
  constructor(private readonly store: Store) {}

  stats(): LibraryStats {
    const photos = this.store.photos.countByStatus();
    return {
      db: this.store.path,
      root: this.store.folders.list()[0] ?? null,
      photos: photos.done + photos.error + photos.pending,
      photosIndexed: photos.done,
      errors: photos.error,
      duplicates: this.store.photos.duplicateCount(),
      faces: this.store.faces.total(),
      models: this.store.faces.modelCounts(),
      importedNames: this.store.regions.totals(),
      lastRun: this.store.runs.latest() ?? null,
    };
  }

  /** Unreadable files, then photos whose metadata names one face twice (one line per photo). */
  errors(): PhotoError[] {
    const rows: PhotoError[] = this.store.photos.errors().map((p) => ({ photoId: p.id, path: p.path, error: p.error ?? '' }));
    const conflicts = new Map<number, PhotoError>();
    for (const c of this.store.regions.conflicts()) {
      const row = conflicts.get(c.photoId);
      if (row) row.error += `; ${c.detail}`;
      else conflicts.set(c.photoId, { photoId: c.photoId, path: c.path, error: `photo metadata: ${c.detail}` });
    }
    return [...rows, ...conflicts.values()];
  }

  /** Every face with its photo, box, person and state; an unnamed face a suggestion covers is "suggested". */
  exportFaces(suggestions: readonly Suggestion[]): ExportedFace[] {
    const suggested = new Map<number, { name: string; confidence: number }>();
    for (const s of suggestions) for (const f of s.faceIds) suggested.set(f, { name: s.suggestedName, confidence: s.confidence });
    const faces: ExportedFace[] = [];
    for (const f of this.store.views.allFaces()) {
      const unnamed = f.personId === null || f.personName === null;
      const suggestion = unnamed ? suggested.get(f.id) : undefined;
      faces.push({
        faceId: f.id,
        photo: f.path,
        box: { x1: f.x1, y1: f.y1, x2: f.x2, y2: f.y2 },
        personId: f.personId,
        personName: f.personName,
        state: suggestion ? 'suggested' : f.personId === null ? 'unassigned' : f.confirmed ? 'confirmed' : 'machine',
        ...(suggestion ? { suggestedName: suggestion.name, confidence: suggestion.confidence } : {}),
      });
    }
    return faces;
  }
}

/**
 * @file People as the screens show them: the People grid (named first, "Maybe" groups last),
 * a person's page, their photos, the faces not yet in anyone, and a photo with its faces.
 * Read-only: every change goes through the person service.
 */
import { UserError } from '../common/user-error.ts';
import type { FaceInfo, Page, PersonCard, PersonDetail, PhotoInfo } from '../api/types.ts';
import type { FaceView, PhotoView, Store } from '../store/index.ts';
import { isMaybePerson } from './maybe.ts';

export function faceInfo(v: FaceView): FaceInfo {
  return {
    id: v.id,
    photoId: v.photoId,
    box: { x1: v.x1, y1: v.y1, x2: v.x2, y2: v.y2 },
    score: v.score,
    personId: v.personId,
    personName: v.personName,
    state: v.personId === null ? 'unassigned' : v.confirmed ? 'confirmed' : 'machine',
  };
}

export class PeopleViews {
  constructor(
    private readonly store: Store,
    private readonly modelId: () => string,
  ) {}

  people(includeHidden: boolean): PersonCard[] {
    return this.store.people
      .summaries()
      .filter((p) => p.faceCount > 0 && (includeHidden || !p.hidden))
      .map((p) => ({ id: p.id, name: p.name, hidden: p.hidden, faceCount: p.faceCount, coverFaceId: p.displayFaceId, maybe: isMaybePerson(this.store, p) }))
      // Named first, "Maybe" groups last (the People grid's order), then by size.
      .sort((a, b) => Number(b.name !== null) - Number(a.name !== null) || Number(a.maybe) - Number(b.maybe) || b.faceCount - a.faceCount || a.id - b.id);
  }

  /** People the People screen counts: not hidden, not under "Maybe". */
  shownPeople(): { shown: number; named: number } {
    const people = this.store.people.summaries();
    return {
      shown: people.filter((p) => p.faceCount > 0 && !p.hidden && !isMaybePerson(this.store, p)).length,
      named: people.filter((p) => p.name !== null).length,
    };
  }

  person(id: number, offset: number, limit: number): PersonDetail {
    const card = this.store.people.summaries().find((p) => p.id === id);
    if (!card) throw new UserError(`no person ${id}`);
    return {
      id,
      name: card.name,
      hidden: card.hidden,
      faceCount: card.faceCount,
      coverFaceId: card.displayFaceId,
      maybe: isMaybePerson(this.store, card),
      photoCount: this.store.views.personPhotoCount(id),
      faces: this.store.views.personFaces(id, offset, limit).map(faceInfo),
    };
  }

  /** The person of that name (any case), or a UserError: how the CLI lets people be named. */
  personByName(name: string): number {
    const p = this.store.people.findByName(name);
    if (!p) throw new UserError(`no person named "${name}"`);
    return p.id;
  }

  unassignedFaces(offset: number, limit: number): Page<FaceInfo> {
    const page = this.store.views.unassignedFaces(this.modelId(), offset, limit);
    return { total: page.total, offset, items: page.faces.map(faceInfo) };
  }

  unassignedCount(): number {
    return this.store.views.unassignedFaces(this.modelId(), 0, 0).total;
  }

  photosOfPerson(personId: number, offset: number, limit: number): Page<PhotoInfo> {
    const rows = this.store.views.personPhotos(personId, offset, limit);
    return { total: this.store.views.personPhotoCount(personId), offset, items: rows.map((r) => this.photoInfo(r)) };
  }

  photo(id: number): PhotoInfo {
    const p = this.store.views.photo(id);
    if (!p) throw new UserError(`no photo ${id}`);
    return this.photoInfo(p);
  }

  private photoInfo(p: PhotoView): PhotoInfo {
    return { ...p, alsoAt: this.store.views.alsoAt(p.id), faces: this.store.views.photoFaces(p.id).map(faceInfo) };
  }
}

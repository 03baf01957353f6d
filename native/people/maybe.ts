/**
 * @file Reads what evidence.ts needs about a person from the store: which unnamed groups
 * the user has not touched lack the evidence to be shown as a person ("Maybe").
 */
import { relativeBox } from './cluster.ts';
import { evidenceOf, isMaybe, type EvidenceFace } from './evidence.ts';
import type { PersonSummary, Store } from '../store/index.ts';

/**
 * Groups with more faces than this are always shown: clustering lets at most one poor face
 * join per good one, so they hold at least this many good faces, past any rule's minimum.
 */
const ALWAYS_SHOWN_FACES = 12;

/**
 * Verdicts by face set, per store: the People list is read after every change, while a group's
 * faces (and so its verdict) rarely change. Keyed on the face ids, so a stale entry never matches.
 */
const verdicts = new WeakMap<Store, Map<number, { faces: string; maybe: boolean }>>();

/** Whether the person belongs under "Maybe": unnamed, no face confirmed by the user, and too little evidence. */
export function isMaybePerson(store: Store, person: Pick<PersonSummary, 'id' | 'name' | 'faceCount'>): boolean {
  if (person.name !== null || person.faceCount > ALWAYS_SHOWN_FACES) return false;
  const assigned = store.people.facesOf(person.id);
  if (assigned.some((a) => a.source === 'user')) return false;
  let cache = verdicts.get(store);
  if (!cache) verdicts.set(store, (cache = new Map()));
  const key = assigned.map((a) => a.faceId).join(',');
  const known = cache.get(person.id);
  if (known?.faces === key) return known.maybe;
  const faces: EvidenceFace[] = assigned.flatMap(({ faceId }) => {
    const f = store.faces.get(faceId);
    if (!f) return [];
    const photo = store.photos.getById(f.photoId);
    return [{ ...f, vector: f.embedding, box: relativeBox(f.box, photo?.width ?? null, photo?.height ?? null) }];
  });
  const maybe = isMaybe(evidenceOf(faces));
  cache.set(person.id, { faces: key, maybe });
  return maybe;
}

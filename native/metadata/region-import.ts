/**
 * @file Names from other photo tools become Kith people. Each named XMP face region is matched
 * to a face Kith detected (box overlap in the upright photo); the face is then confirmed as
 * that person through the person service, exactly as if the user had named it, so it is
 * journaled, undoable and never taken away by a re-cluster. What the user already decided in
 * Kith about a face is never overridden. Every region's outcome is recorded (face_regions).
 * A named region where Kith detected no face becomes a face of its own (native/manual-face.ts,
 * marked 'imported'), named like the rest: the other tool's user said a face is there.
 */
import { stat } from 'node:fs/promises';
import { isWithin } from '../common/path-inside.ts';
import { addFaceFromBox, type ManualFaceModels } from '../people/manual-face.ts';
import { PeopleService } from '../people/service.ts';
import { UserError } from '../common/user-error.ts';
import type { Store, RegionOutcome } from '../store/index.ts';
import { iou, normaliseBox } from '../common/geometry.ts';
import { PicasaReader } from './picasa.ts';
import { photoRegions, sidecarPaths, uprightBox, type NamedRegion, type NormBox, type StoredRegions } from './xmp-regions.ts';

/**
 * A region names a detected face when their boxes overlap by IoU >= 0.3. Tools draw regions
 * around the head (digiKam, Picasa) or the face (Windows), looser than the detector's box:
 * on the test photos (two_people.jpg, bbt3.jpg, test/xmp-import.test.ts) head boxes drawn by
 * eye overlapped their own face at IoU 0.41-0.74 and every other face at 0. A region up to
 * about three times the area of the face's box still passes.
 */
export const REGION_FACE_IOU = 0.3;


export interface RegionCounts {
  photos: number;
  regions: number;
  named: number;
  unmatched: number;
  conflict: number;
  kept: number;
  /** Entries Kith could not use (a Picasa face with an unreadable box or an unnamed contact); also counted as unmatched. */
  skipped: number;
}

interface Detected {
  id: number;
  box: NormBox;
}

interface Placed {
  region: NamedRegion;
  faceId: number | null;
  outcome: RegionOutcome;
  detail: string | null;
}

/** Each region to the face it lies on: strongest overlaps first, one face per region. */
export function placeRegions(regions: readonly NamedRegion[], faces: readonly Detected[]): Placed[] {
  const pairs: Array<{ r: number; f: number; iou: number }> = [];
  regions.forEach((region, r) =>
    faces.forEach((face, f) => {
      const overlap = iou(region.box, face.box);
      if (overlap >= REGION_FACE_IOU) pairs.push({ r, f, iou: overlap });
    }),
  );
  pairs.sort((a, b) => b.iou - a.iou);
  const faceOf = new Map<number, number>();
  const regionsOn = new Map<number, number[]>();
  for (const p of pairs) {
    if (faceOf.has(p.r)) continue;
    const on = regionsOn.get(p.f) ?? [];
    // A face already named by a region is taken, unless this region says the same name (the
    // same person twice) or is a second name for it: that is a conflict, not another face.
    if (on.length > 0 && on.some((o) => regions[o]!.name.toLowerCase() === regions[p.r]!.name.toLowerCase())) continue;
    faceOf.set(p.r, p.f);
    regionsOn.set(p.f, [...on, p.r]);
  }
  return regions.map((region, r) => {
    const f = faceOf.get(r);
    if (f === undefined) return { region, faceId: null, outcome: 'unmatched', detail: null };
    const names = [...new Set(regionsOn.get(f)!.map((o) => regions[o]!.name))];
    if (names.length > 1) return { region, faceId: faces[f]!.id, outcome: 'conflict', detail: `two names on one face: ${names.join(', ')}` };
    return { region, faceId: faces[f]!.id, outcome: 'named', detail: null };
  });
}

interface PhotoToRead {
  id: number;
  path: string;
  width: number;
  height: number;
  signature: string;
}

/** What the regions of a photo were read from: its content, its sidecars and its folder's Picasa files as they are now. */
async function signatureOf(path: string, hash: string | null, picasa: PicasaReader): Promise<string> {
  const sidecars = await Promise.all(
    sidecarPaths(path).map((p) =>
      stat(p).then(
        (s) => `${s.size}:${Math.round(s.mtimeMs)}`,
        () => '-',
      ),
    ),
  );
  const ini = await picasa.signature(path);
  return [hash ?? '', ...sidecars, ...(ini ? [ini] : [])].join('|');
}

/** Photos under `root` whose regions were never read, or whose content or sidecars changed since. */
async function photosToRead(store: Store, root: string, picasa: PicasaReader): Promise<PhotoToRead[]> {
  const rows = store.regions.readCandidates().filter((r) => isWithin(root, r.path));
  const out: PhotoToRead[] = [];
  for (const r of rows) {
    const signature = await signatureOf(r.path, r.hash, picasa);
    if (signature !== r.signature) out.push({ id: r.id, path: r.path, width: r.width, height: r.height, signature });
  }
  return out;
}

/**
 * Name the faces of `placed` in one photo through the person service. A face the user already
 * decided about in Kith keeps that decision ('kept'); the rest are confirmed as the region's
 * person, found by name (case-insensitively) or created.
 */
function applyNames(store: Store, people: PeopleService, placed: Placed[], photoPath: string): void {
  const byName = new Map<string, { name: string; faceIds: number[] }>();
  for (const p of placed) {
    if (p.outcome !== 'named' || p.faceId === null) continue;
    const person = store.people.findByName(p.region.name);
    const assigned = store.people.assignmentOf(p.faceId);
    if (assigned?.source === 'user') {
      if (assigned.personId !== person?.id) {
        p.outcome = 'kept';
        p.detail = `already ${store.people.get(assigned.personId)?.name ?? 'someone else'} in Kith`;
      }
      continue;
    }
    if (person && assigned?.source === 'cluster' && assigned.personId === person.id) {
      // The region says what Kith already shows (typically Kith's own `export --xmp` read back):
      // confirming it would turn a clustering guess into a fact no re-cluster could correct.
      p.outcome = 'kept';
      p.detail = `already ${person.name} in Kith`;
      continue;
    }
    if (person && store.people.isRejected(p.faceId, person.id)) {
      p.outcome = 'kept';
      p.detail = `removed from ${person.name} in Kith`;
      continue;
    }
    const key = p.region.name.toLowerCase();
    const group = byName.get(key) ?? { name: p.region.name, faceIds: [] };
    group.faceIds.push(p.faceId);
    byName.set(key, group);
  }
  for (const { name, faceIds } of byName.values()) {
    // Where the clustering put a face is machine output, not a group the user made: naming it
    // takes it from there without the reject and keep-apart a user's move would leave behind,
    // so the faces it was grouped with can still join the named person.
    for (const faceId of faceIds) if (store.people.assignmentOf(faceId)?.source === 'cluster') store.people.unassign(faceId);
    const label = `Named ${name} from the photo's metadata (${photoPath})`;
    const person = store.people.findByName(name);
    if (person) people.confirmFaces(faceIds, person.id, label);
    else people.moveFaces(faceIds, { newPersonName: name });
  }
}

/** The photo's faces, boxes normalised to the upright photo. */
function facesOfPhoto(store: Store, photo: PhotoToRead): Detected[] {
  return store.faces.forPhoto(photo.id).map((f) => ({
    id: f.id,
    box: normaliseBox(f.box, photo.width, photo.height),
  }));
}

/**
 * A face of its own for every region that lies on no face of the photo. Returns, by region,
 * what happened (the region is then placed on its new face like any other), or why no face
 * could be made (it stays unmatched).
 */
async function facesForUnmatched(store: Store, models: ManualFaceModels, photo: PhotoToRead, regions: readonly NamedRegion[]): Promise<Map<NamedRegion, string>> {
  const out = new Map<NamedRegion, string>();
  for (const p of placeRegions(regions, facesOfPhoto(store, photo))) {
    if (p.outcome !== 'unmatched') continue;
    const b = p.region.box;
    const box = { x1: b.x1 * photo.width, y1: b.y1 * photo.height, x2: b.x2 * photo.width, y2: b.y2 * photo.height };
    try {
      const made = await addFaceFromBox(store, models, photo.id, box, 'imported');
      out.set(p.region, made.detected ? 'no face was detected here; found on a closer look' : 'no face was detected here; the face is the region as drawn');
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      out.set(p.region, `no face could be made here: ${err.message}`);
    }
  }
  return out;
}

/**
 * Read the face regions of every indexed photo under `root` not read yet (or whose content or
 * sidecar changed since), and name the faces they lie on. Safe to stop at any photo: each photo's
 * names and its record are one transaction.
 */
export async function importFaceRegions(store: Store, root: string, signal?: AbortSignal, models?: () => Promise<ManualFaceModels>): Promise<RegionCounts> {
  const counts: RegionCounts = { photos: 0, regions: 0, named: 0, unmatched: 0, conflict: 0, kept: 0, skipped: 0 };
  const people = new PeopleService(store);
  const picasaReader = new PicasaReader(root);
  for (const photo of await photosToRead(store, root, picasaReader)) {
    if (signal?.aborted) break;
    const picasa = await picasaReader.read(photo.path);
    // Picasa comes last: XMP regions are the standard every current tool reads and writes (Picasa
    // itself wrote its names into the photo's XMP when asked), while the ini is Picasa's private
    // record, keyed by file name, and goes stale when a photo is edited or renamed elsewhere.
    const after: StoredRegions[] = picasa.regions.length > 0 ? [{ source: 'picasa', file: picasa.regions[0]!.file, regions: picasa.regions }] : [];
    const { regions, orientation } = await photoRegions(photo.path, after);
    // Made before the photo's transaction (decoding and embedding are async); stopped in between,
    // the next run reads the photo again and finds the region on its new face.
    const made = models && regions.length > 0 ? await facesForUnmatched(store, await models(), photo, regions) : new Map<NamedRegion, string>();
    store.transaction(() => {
      const placed = regions.length > 0 ? placeRegions(regions, facesOfPhoto(store, photo)) : [];
      for (const p of placed) p.detail ??= made.get(p.region) ?? null;
      if (placed.length > 0) applyNames(store, people, placed, photo.path);
      // What could not be used is recorded as a region that named no face, with why (kith errors lists it).
      const skipped = picasa.skipped.map((k) => ({
        name: k.name,
        source: 'picasa' as const,
        ...(k.box ? uprightBox(k.box, orientation) : { x1: 0, y1: 0, x2: 0, y2: 0 }),
        faceId: null,
        outcome: 'unmatched' as const,
        detail: k.detail,
      }));
      store.regions.replace(
        photo.id,
        [...placed.map((p) => ({ name: p.region.name, source: p.region.source, ...p.region.box, faceId: p.faceId, outcome: p.outcome, detail: p.detail })), ...skipped],
        photo.signature,
      );
      for (const p of placed) counts[p.outcome]++;
      counts.unmatched += skipped.length;
      counts.skipped += skipped.length;
      if (regions.length + skipped.length > 0) {
        counts.regions += regions.length + skipped.length;
        counts.photos++;
      }
    });
  }
  return counts;
}

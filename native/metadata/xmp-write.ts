/**
 * @file Kith's names written back for other photo tools, only when the user asks (`kith export
 * --xmp`, the Library screen): for each photo with faces of named people, an XMP sidecar with
 * MWG face regions (digiKam, Lightroom, Immich, PhotoPrism), Microsoft Photo regions (Windows)
 * and digiKam/Lightroom `People/<Name>` keywords. The photo itself is never written: ExifTool
 * (exiftool-vendored) writes the sidecar only, merging into one that exists and keeping every
 * other property in it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ExifTool, type WriteTags } from 'exiftool-vendored';
import exifr from 'exifr';
import sharp from 'sharp';
import type { XmpExportResult, XmpSidecarStyle } from '../api/types.ts';
import { UserError } from '../common/user-error.ts';
import type { Store } from '../store/index.ts';
import { iou } from '../common/geometry.ts';
import { sidecarPaths, uprightBox, usableName, type NormBox } from './xmp-regions.ts';

export type SidecarStyle = XmpSidecarStyle;
export const SIDECAR_STYLES: readonly SidecarStyle[] = ['jpg.xmp', 'xmp'];

/** A region already in the sidecar covering a face Kith names is replaced by Kith's. */
const SAME_FACE_IOU = 0.3;

export function sidecarFor(photoPath: string, style: SidecarStyle): string {
  return sidecarPaths(photoPath)[style === 'jpg.xmp' ? 0 : 1]!;
}

/**
 * An upright box in the photo as stored, where XMP regions apply. Orientations 6 and 8 undo
 * each other; every other one undoes itself.
 */
export function storedBox(upright: NormBox, orientation: number): NormBox {
  return uprightBox(upright, orientation === 6 ? 8 : orientation === 8 ? 6 : orientation);
}

interface NamedFace {
  name: string;
  /** Normalised, in the stored photo. */
  box: NormBox;
}

type Struct = Record<string, unknown>;
const asRecord = (v: unknown): Struct | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Struct) : undefined);
const asList = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

/** An MWG region's box, normalised, or null where it has none Kith can read. */
function mwgBox(region: Struct, dims: Struct | undefined): NormBox | null {
  const a = asRecord(region.Area);
  if (!a) return null;
  let [x, y, w, h] = [num(a.X), num(a.Y), num(a.W), num(a.H)];
  if (String(a.Unit).toLowerCase() === 'pixel') {
    const [W, H] = [num(dims?.W), num(dims?.H)];
    [x, y, w, h] = [x / W, y / H, w / W, h / H];
  }
  return [x, y, w, h].every(Number.isFinite) ? { x1: x - w / 2, y1: y - h / 2, x2: x + w / 2, y2: y + h / 2 } : null;
}

function mpBox(region: Struct): NormBox | null {
  const [x, y, w, h] = String(region.Rectangle ?? '').split(',').map(Number);
  return [x, y, w, h].every((v) => v !== undefined && Number.isFinite(v)) ? { x1: x!, y1: y!, x2: x! + w!, y2: y! + h! } : null;
}

/** A region of another tool (or an older export) that Kith's faces replace: same face or same name. */
function replacedBy(faces: readonly NamedFace[], name: unknown, box: NormBox | null): boolean {
  const n = usableName(name)?.toLowerCase();
  return faces.some((f) => f.name.toLowerCase() === n || (box !== null && iou(f.box, box) >= SAME_FACE_IOU));
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

/** The sidecar's tags with Kith's faces in: other regions and keywords stay as they were. */
function tagsFor(existing: Struct, stored: { width: number; height: number }, faces: readonly NamedFace[]): WriteTags {
  const oldMwg = asRecord(existing.RegionInfo);
  const oldDims = asRecord(oldMwg?.AppliedToDimensions);
  const keptMwg = asList(oldMwg?.RegionList).flatMap((item) => {
    const r = asRecord(item);
    if (!r) return [];
    const box = mwgBox(r, oldDims);
    if (replacedBy(faces, r.Name, box)) return [];
    // Kept regions are restated normalised, since the dimensions below are this photo's.
    if (!box) return [r];
    const [w, h] = [box.x2 - box.x1, box.y2 - box.y1];
    return [{ ...r, Area: { ...asRecord(r.Area), X: round(box.x1 + w / 2), Y: round(box.y1 + h / 2), W: round(w), H: round(h), Unit: 'normalized' } }];
  });
  const keptMp = asList(asRecord(existing.RegionInfoMP)?.Regions).filter((item) => {
    const r = asRecord(item);
    return r !== undefined && !replacedBy(faces, r.PersonDisplayName, mpBox(r));
  });
  const mwg = faces.map((f) => {
    const [w, h] = [f.box.x2 - f.box.x1, f.box.y2 - f.box.y1];
    return { Area: { X: round(f.box.x1 + w / 2), Y: round(f.box.y1 + h / 2), W: round(w), H: round(h), Unit: 'normalized' }, Name: f.name, Type: 'Face' };
  });
  const mp = faces.map((f) => ({
    Rectangle: [f.box.x1, f.box.y1, f.box.x2 - f.box.x1, f.box.y2 - f.box.y1].map(round).join(', '),
    PersonDisplayName: f.name,
  }));
  const names = [...new Set(faces.map((f) => f.name))];
  const tags: Record<string, unknown> = {
    RegionInfo: { AppliedToDimensions: { W: stored.width, H: stored.height, Unit: 'pixel' }, RegionList: [...keptMwg, ...mwg] },
    RegionInfoMP: { Regions: [...keptMp, ...mp] },
    // ExifTool's "add unless already there": remove the value, then add it.
    'XMP-digiKam:TagsList-': names.map((n) => `People/${n}`),
    'XMP-digiKam:TagsList+': names.map((n) => `People/${n}`),
    'XMP-lr:HierarchicalSubject-': names.map((n) => `People|${n}`),
    'XMP-lr:HierarchicalSubject+': names.map((n) => `People|${n}`),
    'XMP-dc:Subject-': names,
    'XMP-dc:Subject+': names,
  };
  return tags as WriteTags;
}

/**
 * Write (or merge into) one sidecar. The photo is only read, never written; a file at the
 * sidecar's path that is not XMP (a photo named `x.xmp`) is left alone: returns why, or null.
 */
export async function writeSidecar(et: ExifTool, sidecar: string, stored: { width: number; height: number }, faces: readonly NamedFace[]): Promise<string | null> {
  const existing = existsSync(sidecar) ? ((await et.read(sidecar, { readArgs: ['-struct'] })) as unknown as Struct) : {};
  if (existsSync(sidecar) && existing.FileType !== 'XMP') return `${sidecar} is not an XMP file (${String(existing.FileType ?? 'unknown type')}); it was left alone`;
  await et.write(sidecar, tagsFor(existing, stored, faces), { writeArgs: ['-overwrite_original'] });
  return null;
}

/** The photo as stored: its pixel size and EXIF orientation. */
async function storedGeometry(path: string): Promise<{ width: number; height: number; orientation: number } | null> {
  try {
    const m = await sharp(path, { limitInputPixels: false }).metadata();
    if (!m.width || !m.height) return null;
    return { width: m.width, height: m.height, orientation: m.orientation ?? 1 };
  } catch {
    return null;
  }
}

interface PhotoFaces {
  path: string;
  width: number;
  height: number;
  faces: Array<{ name: string; box: NormBox }>;
}

/** Photos with faces of named people, boxes normalised in the upright photo. */
function photosWithNames(store: Store): PhotoFaces[] {
  const rows = store.views.namedFaces();
  const byPath = new Map<string, PhotoFaces>();
  for (const r of rows) {
    const photo = byPath.get(r.path) ?? { path: r.path, width: r.width, height: r.height, faces: [] };
    photo.faces.push({ name: r.name, box: { x1: r.x1 / r.width, y1: r.y1 / r.height, x2: r.x2 / r.width, y2: r.y2 / r.height } });
    byPath.set(r.path, photo);
  }
  return [...byPath.values()];
}

/**
 * Write a sidecar for every photo with faces of named people. A photo whose file is missing,
 * or whose size no longer matches what Kith indexed, is skipped with the reason.
 */
export async function exportXmpSidecars(
  store: Store,
  opts: { sidecar?: SidecarStyle; onPhoto?: (path: string, sidecar: string) => void; signal?: AbortSignal } = {},
): Promise<XmpExportResult> {
  const style = opts.sidecar ?? 'jpg.xmp';
  const result: XmpExportResult = { photos: 0, faces: 0, skipped: [] };
  const photos = photosWithNames(store);
  // `photo.xmp` belongs to every photo named `photo.*` in the folder: written for one, it would
  // name the faces of another.
  const users = new Map<string, string[]>();
  for (const p of photos) users.set(sidecarFor(p.path, style), [...(users.get(sidecarFor(p.path, style)) ?? []), p.path]);
  if (photos.length === 0) return result;
  // ExifTool is a Perl program outside Windows; exiftool-vendored does not survive a failed
  // start (the spawn error is thrown out of the event loop), so perl is looked for first.
  if (process.platform !== 'win32' && spawnSync('perl', ['-e', '1'], { stdio: 'ignore' }).status !== 0) {
    throw new UserError('Writing XMP files needs perl, which ExifTool runs on (Linux: install the perl package; macOS has it). No file was written.');
  }
  const et = new ExifTool({ maxProcs: 1, taskTimeoutMillis: 30_000 });
  try {
    for (const photo of photos) {
      if (opts.signal?.aborted) break;
      const sidecar = sidecarFor(photo.path, style);
      const sharing = users.get(sidecar)!;
      if (sharing.length > 1 || sidecar === photo.path) {
        result.skipped.push({ path: photo.path, reason: `${sidecar} would be shared by ${sharing.join(', ')}; use the photo.jpg.xmp style` });
        continue;
      }
      if (!existsSync(photo.path)) {
        result.skipped.push({ path: photo.path, reason: 'file not found' });
        continue;
      }
      let geo = await storedGeometry(photo.path);
      if (!geo) {
        // A format sharp cannot open (HEIC without its codec): EXIF still gives the orientation.
        const orientation = (await exifr.orientation(photo.path).catch(() => undefined)) ?? 1;
        const sideways = orientation >= 5 && orientation <= 8;
        geo = { width: sideways ? photo.height : photo.width, height: sideways ? photo.width : photo.height, orientation };
      }
      const sideways = geo.orientation >= 5 && geo.orientation <= 8;
      const [uw, uh] = sideways ? [geo.height, geo.width] : [geo.width, geo.height];
      if (uw !== photo.width || uh !== photo.height) {
        result.skipped.push({ path: photo.path, reason: `the photo changed since Kith indexed it (${uw}x${uh}, was ${photo.width}x${photo.height}); index again first` });
        continue;
      }
      const faces = photo.faces.map((f) => ({ name: f.name, box: storedBox(f.box, geo.orientation) }));
      try {
        const refused = await writeSidecar(et, sidecar, { width: geo.width, height: geo.height }, faces);
        if (refused) {
          result.skipped.push({ path: photo.path, reason: refused });
          continue;
        }
      } catch (err) {
        result.skipped.push({ path: photo.path, reason: `could not write ${sidecar}: ${err instanceof Error ? err.message : String(err)}` });
        continue;
      }
      result.photos++;
      result.faces += faces.length;
      opts.onPhoto?.(photo.path, sidecar);
    }
  } finally {
    await et.end();
  }
  return result;
}

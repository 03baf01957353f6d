/**
 * @file Named face regions that other photo tools wrote into XMP: MWG regions (digiKam,
 * darktable, Lightroom, Picasa exports) and Microsoft Photo regions (Windows Photo Gallery).
 * Read from the sidecars `photo.jpg.xmp` (digiKam/darktable) and `photo.xmp` (Adobe) and from
 * the XMP inside the photo; boxes come back normalised, in the upright photo.
 */
import { open } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import exifr from 'exifr';
import sharp from 'sharp';
import { iou, type Box } from '../common/geometry.ts';

/** A box as fractions of the photo's width and height. */
export type NormBox = Box;

export interface NamedRegion {
  name: string;
  /** In the upright photo (EXIF orientation applied). */
  box: NormBox;
  /** Where it was read: an XMP 'sidecar' (which file is in `file`), the photo's 'embedded' XMP, or a Picasa ini. */
  source: 'sidecar' | 'embedded' | 'picasa';
  file: string;
}

/** A sidecar larger than this is not XMP a photo tool wrote; it is not read. */
const MAX_SIDECAR_BYTES = 4 * 1024 * 1024;

/** Two regions from different sources this much overlapped are about the same face. */
const SAME_REGION_IOU = 0.3;

const MWG_REGIONS = 'http://www.metadataworkinggroup.com/schemas/regions/';
const MP = 'http://ns.microsoft.com/photo/1.2/';

/** Names tools write for "a face, nobody in particular" (digiKam's own pseudo-people among them). */
const NOT_A_NAME = new Set(['ignored', 'unknown', 'unknown person', 'unnamed']);

type Xmp = Record<string, unknown>;

function asList(v: unknown): unknown[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

function asRecord(v: unknown): Xmp | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Xmp) : undefined;
}

function num(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** exifr groups XMP by the prefix the file used; the namespace URI says which schema it is. */
function byNamespace(xmp: Xmp, uri: string): Xmp | undefined {
  const xmlns = asRecord(xmp.xmlns) ?? {};
  for (const [prefix, u] of Object.entries(xmlns)) if (u === uri) return asRecord(xmp[prefix]);
  return undefined;
}

/** A name as a person would write it, or null for an empty or pseudo-name. */
export function usableName(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const name = raw.trim().replace(/\s+/g, ' ');
  if (!name || name.length > 200 || NOT_A_NAME.has(name.toLowerCase())) return null;
  return name;
}

/** The box inside the photo, or null when nothing of it is. */
export function clampBox(b: NormBox): NormBox | null {
  const c = (v: number) => Math.min(1, Math.max(0, v));
  const out = { x1: c(b.x1), y1: c(b.y1), x2: c(b.x2), y2: c(b.y2) };
  return out.x2 - out.x1 > 0 && out.y2 - out.y1 > 0 ? out : null;
}

/** MWG: `stArea:x/y` is the centre of the box; normalised unless the unit says pixels. */
function mwgRegions(xmp: Xmp): Array<{ name: string; box: NormBox }> {
  const regions = asRecord(byNamespace(xmp, MWG_REGIONS)?.Regions);
  if (!regions) return [];
  const dims = asRecord(regions.AppliedToDimensions);
  const out: Array<{ name: string; box: NormBox }> = [];
  for (const item of asList(regions.RegionList)) {
    const r = asRecord(item);
    if (!r || (typeof r.Type === 'string' && r.Type.toLowerCase() !== 'face')) continue;
    const name = usableName(r.Name);
    const area = asRecord(r.Area);
    if (!name || !area) continue;
    let [x, y, w, h] = [num(area.x), num(area.y), num(area.w), num(area.h)];
    if (x === undefined || y === undefined || w === undefined || h === undefined) continue;
    if (typeof area.unit === 'string' && area.unit.toLowerCase() === 'pixel') {
      const W = num(dims?.w);
      const H = num(dims?.h);
      if (!W || !H) continue;
      [x, y, w, h] = [x / W, y / H, w / W, h / H];
    }
    const box = clampBox({ x1: x - w / 2, y1: y - h / 2, x2: x + w / 2, y2: y + h / 2 });
    if (box) out.push({ name, box });
  }
  return out;
}

/** Microsoft Photo: `MPReg:Rectangle` is "x, y, w, h" from the top-left corner, normalised. */
function mpRegions(xmp: Xmp): Array<{ name: string; box: NormBox }> {
  const info = asRecord(byNamespace(xmp, MP)?.RegionInfo);
  if (!info) return [];
  // exifr flattens the inner fields (MPRI:Regions, MPReg:*) to their local names.
  const out: Array<{ name: string; box: NormBox }> = [];
  for (const item of asList(info.Regions)) {
    const r = asRecord(item);
    if (!r) continue;
    const name = usableName(r.PersonDisplayName);
    const rect = typeof r.Rectangle === 'string' ? r.Rectangle.split(',').map((s) => num(s)) : [];
    if (!name || rect.length !== 4 || rect.some((v) => v === undefined)) continue;
    const [x, y, w, h] = rect as number[];
    const box = clampBox({ x1: x!, y1: y!, x2: x! + w!, y2: y! + h! });
    if (box) out.push({ name, box });
  }
  return out;
}

/** Named face regions in one XMP packet, in the photo as stored (before EXIF orientation). */
export async function regionsInXmp(packet: Buffer | string): Promise<Array<{ name: string; box: NormBox }>> {
  const bytes = typeof packet === 'string' ? Buffer.from(packet) : packet;
  let xmp: Xmp | undefined;
  try {
    xmp = asRecord(await exifr.sidecar(bytes, { xmp: true }, 'xmp'));
  } catch {
    return []; // not XMP exifr can read: the photo simply has no regions Kith can use
  }
  if (!xmp) return [];
  return [...mwgRegions(xmp), ...mpRegions(xmp)];
}

/**
 * A stored-orientation box in the upright photo. EXIF orientation 6 means "turn 90° clockwise
 * to view", so the stored top-left corner ends up top-right, and so on (MWG regions guidance:
 * regions apply to the stored pixels).
 */
export function uprightBox(b: NormBox, orientation: number): NormBox {
  const map: Record<number, (x: number, y: number) => [number, number]> = {
    2: (x, y) => [1 - x, y],
    3: (x, y) => [1 - x, 1 - y],
    4: (x, y) => [x, 1 - y],
    5: (x, y) => [y, x],
    6: (x, y) => [1 - y, x],
    7: (x, y) => [1 - y, 1 - x],
    8: (x, y) => [y, 1 - x],
  };
  const f = map[orientation];
  if (!f) return b;
  const [ax, ay] = f(b.x1, b.y1);
  const [bx, by] = f(b.x2, b.y2);
  return { x1: Math.min(ax, bx), y1: Math.min(ay, by), x2: Math.max(ax, bx), y2: Math.max(ay, by) };
}

/** The sidecars a photo may have, the one that wins first: `photo.jpg.xmp`, then `photo.xmp`. */
export function sidecarPaths(photoPath: string): string[] {
  const stem = basename(photoPath, extname(photoPath));
  return [`${photoPath}.xmp`, join(dirname(photoPath), `${stem}.xmp`)];
}

async function readSidecar(path: string): Promise<Buffer | null> {
  let fh;
  try {
    fh = await open(path, 'r');
    const st = await fh.stat();
    if (!st.isFile() || st.size > MAX_SIDECAR_BYTES) return null;
    return await fh.readFile();
  } catch {
    return null; // no sidecar (the usual case), or one Kith may not read
  } finally {
    await fh?.close();
  }
}

/** The regions of one source (a sidecar, the photo, a Picasa ini), boxes in the photo as stored. */
export interface StoredRegions {
  source: NamedRegion['source'];
  file: string;
  regions: ReadonlyArray<{ name: string; box: NormBox }>;
}

/**
 * The named face regions of a photo, upright, and its EXIF orientation. A sidecar wins over the
 * XMP inside the photo, `photo.jpg.xmp` over `photo.xmp`, and both over the sources in `after`
 * (Picasa's ini): a region from a later source is dropped when an earlier one has the same name
 * or covers the same face.
 */
export async function photoRegions(photoPath: string, after: readonly StoredRegions[] = []): Promise<{ regions: NamedRegion[]; orientation: number }> {
  let orientation = 1;
  let embedded: Buffer | undefined;
  try {
    const meta = await sharp(photoPath, { limitInputPixels: false }).metadata();
    orientation = meta.orientation ?? 1;
    embedded = meta.xmp;
  } catch {
    // A format sharp cannot open (HEIC without its codec): its sidecars still count.
    orientation = (await exifr.orientation(photoPath).catch(() => undefined)) ?? 1;
  }
  const packets: Array<{ source: NamedRegion['source']; file: string; packet: Buffer | undefined | null }> = [
    ...(await Promise.all(sidecarPaths(photoPath).map(async (file) => ({ source: 'sidecar' as const, file, packet: await readSidecar(file) })))),
    { source: 'embedded', file: photoPath, packet: embedded },
  ];
  const sources: StoredRegions[] = [];
  for (const p of packets) if (p.packet) sources.push({ source: p.source, file: p.file, regions: await regionsInXmp(p.packet) });
  return { regions: mergeUpright([...sources, ...after], orientation), orientation };
}

/**
 * The regions of every source, upright, the first source winning: a region from a later source
 * is dropped when an earlier one has the same name or covers the same face.
 */
export function mergeUpright(sources: readonly StoredRegions[], orientation: number): NamedRegion[] {
  const out: NamedRegion[] = [];
  for (const s of sources) {
    const earlier = [...out];
    const sameName = (o: NamedRegion, name: string) => o.name.toLowerCase() === name.toLowerCase();
    for (const r of s.regions) {
      const box = uprightBox(r.box, orientation);
      if (earlier.some((o) => sameName(o, r.name) || iou(o.box, box) >= SAME_REGION_IOU)) continue;
      // One packet often holds the same face twice, as an MWG and a Microsoft region (Kith's own
      // export does): one region, or the second would find no face left and become a face itself.
      if (out.some((o) => o.file === s.file && sameName(o, r.name) && iou(o.box, box) >= SAME_REGION_IOU)) continue;
      out.push({ name: r.name, box, source: s.source, file: s.file });
    }
  }
  return out;
}

/** The named face regions of a photo's XMP (sidecars, then embedded), upright. */
export async function readPhotoRegions(photoPath: string): Promise<NamedRegion[]> {
  return (await photoRegions(photoPath)).regions;
}

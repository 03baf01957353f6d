/**
 * @file Face names Picasa kept outside the photos: each folder's `.picasa.ini` (`Picasa.ini` before
 * Picasa 3) holds, per photo, `faces=rect64(…),contactId;…`, and the contact ids are named in the
 * same file's `[Contacts2]` section or in Picasa's `contacts.xml` (kept in the user's Picasa data
 * folder; Kith looks for it beside the photos and in their parent folders up to the library
 * folder). Boxes come back in the photo as stored; entries Kith cannot use come back with why.
 */
import { open, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isWithin } from '../common/path-inside.ts';
import { usableName, type NormBox } from './xmp-regions.ts';

/** The per-folder files, the newer first: Picasa 3 renamed `Picasa.ini` to `.picasa.ini`. */
export const PICASA_INI_NAMES = ['.picasa.ini', 'Picasa.ini'] as const;
export const PICASA_CONTACTS = 'contacts.xml';

/** A folder of a few thousand photos has an ini of a megabyte or so; far larger is not Picasa's. */
const MAX_FILE_BYTES = 32 * 1024 * 1024;

/** The contact id Picasa gives a face it found but nobody named: a face, not a name. */
const NOBODY = 'ffffffffffffffff';

/** A face Picasa named, in the photo as stored (before EXIF orientation). */
export interface PicasaRegion {
  name: string;
  box: NormBox;
  /** The ini it was read from. */
  file: string;
}

/** An entry Kith could not use: its name and box where they were readable, and why. */
export interface PicasaSkipped {
  name: string;
  box: NormBox | null;
  file: string;
  detail: string;
}

type Sections = Map<string, Map<string, string>>;

/**
 * INI text as `section → key → value` (keys lower-cased, the last of a repeated key wins). Written
 * here rather than with the `ini` package: it strips everything after a `;` as a comment, and `;`
 * is what separates Picasa's faces (and ends its contact names).
 */
export function parseIni(text: string): Sections {
  const out: Sections = new Map();
  let section: Map<string, string> | undefined;
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n|\r/)) {
    const line = raw.trim();
    const head = /^\[(.*)\]$/.exec(line);
    if (head) {
      section = out.get(head[1]!) ?? new Map<string, string>();
      out.set(head[1]!, section);
      continue;
    }
    const eq = line.indexOf('=');
    if (!section || eq <= 0 || line.startsWith(';') || line.startsWith('#')) continue;
    section.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return out;
}

/**
 * `rect64(…)`: one 64-bit hex number, four 16-bit fractions of 65535 (left, top, right, bottom).
 * Picasa drops leading zeros, so a box at the left edge has fewer than 16 digits.
 */
export function parseRect64(text: string): NormBox | null {
  const m = /^rect64\(([0-9a-f]{1,16})\)$/i.exec(text.trim());
  if (!m) return null;
  const hex = m[1]!.padStart(16, '0');
  const [x1, y1, x2, y2] = [0, 4, 8, 12].map((i) => parseInt(hex.slice(i, i + 4), 16) / 65535) as [number, number, number, number];
  return x2 > x1 && y2 > y1 ? { x1, y1, x2, y2 } : null;
}

/** `[Contacts2]` lines are `id=Name;email;…`: the name is what comes before the first `;`. */
function contactsOfIni(sections: Sections): Map<string, string> {
  const out = new Map<string, string>();
  for (const [title, keys] of sections) {
    if (title.toLowerCase() !== 'contacts2') continue;
    for (const [id, value] of keys) out.set(id.toLowerCase(), value.split(';')[0]!);
  }
  return out;
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function xmlText(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (all, e: string) => {
    if (e[0] !== '#') return XML_ENTITIES[e.toLowerCase()] ?? all;
    const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : all;
  });
}

/**
 * Picasa's `contacts.xml`: `<contact id="…" name="…" display="…"/>` elements. Only these
 * attributes are read, so a small attribute reader does (an XML library would be a new
 * dependency for one element).
 */
export function parseContactsXml(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const el of text.matchAll(/<contact\s([^>]*)>/gi)) {
    const attrs = new Map<string, string>();
    for (const a of el[1]!.matchAll(/([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs.set(a[1]!.toLowerCase(), xmlText(a[2] ?? a[3] ?? ''));
    const id = attrs.get('id');
    const name = attrs.get('name') || attrs.get('display');
    if (id && name) out.set(id.toLowerCase(), name);
  }
  return out;
}

/** Picasa wrote UTF-8, older versions the Windows code page: bytes that are not UTF-8 are read as Latin-1. */
function decodeText(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

async function readSmallFile(path: string): Promise<string | null> {
  let fh;
  try {
    fh = await open(path, 'r');
    const st = await fh.stat();
    if (!st.isFile() || st.size > MAX_FILE_BYTES) return null;
    return decodeText(await fh.readFile());
  } catch {
    return null; // absent (the usual case) or unreadable: no Picasa names from it
  } finally {
    await fh?.close();
  }
}

async function fileStamp(path: string): Promise<string | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? `${s.size}:${Math.round(s.mtimeMs)}` : null;
  } catch {
    return null;
  }
}

/** The photo's section: its exact file name, else the one section that matches ignoring case (copied from Windows). */
function sectionFor(sections: Sections, fileName: string): Map<string, string> | undefined {
  const exact = sections.get(fileName);
  if (exact) return exact;
  const lower = fileName.toLowerCase();
  const alike = [...sections.keys()].filter((k) => k.toLowerCase() === lower);
  return alike.length === 1 ? sections.get(alike[0]!) : undefined;
}

/**
 * Reads the Picasa files of one library folder, each file once per run however many photos
 * share it. `root` bounds the search for `contacts.xml`.
 */
export class PicasaReader {
  private readonly inis = new Map<string, Promise<Array<{ file: string; sections: Sections }>>>();
  private readonly contactFiles = new Map<string, Promise<Map<string, string> | null>>();
  private readonly stamps = new Map<string, Promise<string | null>>();

  constructor(private readonly root: string) {}

  /** The folder's ini files that exist, the newer name first. */
  private iniFiles(dir: string): Promise<Array<{ file: string; sections: Sections }>> {
    let got = this.inis.get(dir);
    if (!got) {
      got = Promise.all(
        PICASA_INI_NAMES.map(async (n) => {
          const file = join(dir, n);
          const text = await readSmallFile(file);
          return text === null ? null : { file, sections: parseIni(text) };
        }),
      ).then((l) => l.filter((x) => x !== null));
      this.inis.set(dir, got);
    }
    return got;
  }

  private contactsXml(dir: string): Promise<Map<string, string> | null> {
    let got = this.contactFiles.get(dir);
    if (!got) {
      got = readSmallFile(join(dir, PICASA_CONTACTS)).then((t) => (t === null ? null : parseContactsXml(t)));
      this.contactFiles.set(dir, got);
    }
    return got;
  }

  private stamp(path: string): Promise<string | null> {
    let got = this.stamps.get(path);
    if (!got) {
      got = fileStamp(path);
      this.stamps.set(path, got);
    }
    return got;
  }

  /** The photo's folder and its parents up to the library folder, nearest first. */
  private foldersUp(photoPath: string): string[] {
    const out: string[] = [];
    for (let dir = dirname(photoPath); ; dir = dirname(dir)) {
      out.push(dir);
      if (dir === this.root || !isWithin(this.root, dir) || dirname(dir) === dir) break;
    }
    return out;
  }

  /**
   * What the photo's Picasa names were read from, as it is now; '' where the folder has no ini
   * (so a library without Picasa files keeps the signatures it had).
   */
  async signature(photoPath: string): Promise<string> {
    const inis = await Promise.all(PICASA_INI_NAMES.map((n) => this.stamp(join(dirname(photoPath), n))));
    if (inis.every((s) => s === null)) return '';
    const contacts = await Promise.all(this.foldersUp(photoPath).map((d) => this.stamp(join(d, PICASA_CONTACTS))));
    return `picasa:${[...inis, ...contacts].map((s) => s ?? '-').join(',')}`;
  }

  /** A contact's name: the photo's own ini's `[Contacts2]` first, then the nearest `contacts.xml`. */
  private async contactName(id: string, inis: ReadonlyArray<{ sections: Sections }>, photoPath: string): Promise<string | undefined> {
    for (const ini of inis) {
      const name = contactsOfIni(ini.sections).get(id);
      if (name !== undefined) return name;
    }
    for (const dir of this.foldersUp(photoPath)) {
      const name = (await this.contactsXml(dir))?.get(id);
      if (name !== undefined) return name;
    }
    return undefined;
  }

  /** The photo's named Picasa faces (boxes in the photo as stored), and the entries that were skipped and why. */
  async read(photoPath: string): Promise<{ regions: PicasaRegion[]; skipped: PicasaSkipped[] }> {
    const regions: PicasaRegion[] = [];
    const skipped: PicasaSkipped[] = [];
    const inis = await this.iniFiles(dirname(photoPath));
    // The newer ini speaks for the photo when it has a section for it; the older one otherwise.
    const own = inis.map((ini) => ({ ini, section: sectionFor(ini.sections, basename(photoPath)) })).find((s) => s.section?.has('faces'));
    if (!own) return { regions, skipped };
    const file = own.ini.file;
    for (const entry of own.section!.get('faces')!.split(';')) {
      if (!entry.trim()) continue;
      const comma = entry.lastIndexOf(',');
      const [rect, id] = comma < 0 ? [entry, ''] : [entry.slice(0, comma), entry.slice(comma + 1).trim().toLowerCase()];
      const box = parseRect64(rect);
      if (id === NOBODY) continue;
      const label = `Picasa face ${entry.trim()} (${basename(file)})`;
      const rawName = id ? await this.contactName(id, inis, photoPath) : undefined;
      const name = rawName === undefined ? null : usableName(rawName);
      if (!box) skipped.push({ name: name ?? '', box: null, file, detail: `skipped ${label}: not a rect64 box` });
      else if (!id) skipped.push({ name: '', box, file, detail: `skipped ${label}: no contact id` });
      else if (rawName === undefined) skipped.push({ name: '', box, file, detail: `skipped ${label}: contact ${id} has no name in [Contacts2] or a contacts.xml` });
      else if (name) regions.push({ name, box, file });
      // A contact named empty or with a pseudo-name is nobody in particular, like an XMP "Unknown".
    }
    return { regions, skipped };
  }
}

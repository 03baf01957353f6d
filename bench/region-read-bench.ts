/**
 * @file `npm run bench:regions -- [--photos 42] [--rounds 3]`: which library should read the
 * named face regions of a photo, exifr (in-process, what native/metadata/xmp-regions.ts uses) or
 * exiftool-vendored (a long-running ExifTool process). Photos are real group photos from
 * ../shared/faces given regions by Debian's exiftool, as the tests do: MWG and Microsoft regions,
 * in digiKam (photo.jpg.xmp) and Adobe (photo.xmp) sidecars and embedded, a digiKam-written
 * sidecar (attributes, pixel units), a sidecar that disagrees with the photo (the sidecar wins),
 * photos stored sideways (EXIF orientation 6 and 8), and names outside ASCII. Both readers must
 * return what was written (names, and boxes within 0.5% of the image); the time per photo is
 * the median over the rounds, after a warm-up round; ExifTool's start is timed on its own.
 * The ExifTool reader below reads the same regions as xmp-regions.ts (exifr) and merges them the
 * same way. It lives here, not in native/: on 42 photos (109 regions) both read every name and box
 * right, and exifr took 3.7-5.4 ms a photo against ExifTool's 95-109 ms (after a 263-311 ms start),
 * two runs on a busy 2-core Xeon (load 9): Kith reads with exifr and writes with ExifTool.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ExifTool } from 'exiftool-vendored';
import sharp from 'sharp';
import { clampBox, mergeUpright, photoRegions, sidecarPaths, usableName, type NamedRegion, type NormBox, type StoredRegions } from '../native/metadata/xmp-regions.ts';
import { FACES } from '../test/helpers.ts';
import { seededRandom } from '../test/seeded-random.ts';
import { machine, machineLine, printJson, tempDir } from './common.ts';

const { values: opts } = parseArgs({ options: { photos: { type: 'string', default: '42' }, rounds: { type: 'string', default: '3' } } });
const N = Number(opts.photos);
const ROUNDS = Number(opts.rounds);
/** Boxes agree when every corner is within this fraction of the image. */
const TOLERANCE = 0.005;

const NAMES = ['Anna Smith', 'José Núñez', 'Zoë Ångström', 'Li Wei 李伟', 'Bob', 'Dr. Mary-Jane O’Neil', 'Søren Kierkegaard'];

/** The box in the photo as stored, for a photo that EXIF orientation `o` turns upright (the MWG guidance). */
function stored(u: NormBox, o: number): NormBox {
  if (o === 6) return { x1: u.y1, y1: 1 - u.x2, x2: u.y2, y2: 1 - u.x1 };
  if (o === 8) return { x1: 1 - u.y2, y1: u.x1, x2: 1 - u.y1, y2: u.x2 };
  return u;
}

/** ExifTool's struct syntax: `|` escapes a comma (and a `|`, `{`, `}`, `[`, `]`) inside a value. */
const esc = (s: string) => s.replace(/[|,{}[\]]/g, (c) => `|${c}`);

function mwgArg(regions: Array<{ name: string; box: NormBox }>): string {
  const list = regions.map(({ name, box: b }) => {
    const [w, h] = [b.x2 - b.x1, b.y2 - b.y1];
    return `{Area={X=${b.x1 + w / 2},Y=${b.y1 + h / 2},W=${w},H=${h},Unit=normalized},Name=${esc(name)},Type=Face}`;
  });
  return `-XMP-mwg-rs:RegionInfo={RegionList=[${list.join(',')}]}`;
}

function mpArg(regions: Array<{ name: string; box: NormBox }>): string {
  const list = regions.map(({ name, box: b }) => `{Rectangle=${b.x1}|, ${b.y1}|, ${b.x2 - b.x1}|, ${b.y2 - b.y1},PersonDisplayName=${esc(name)}}`);
  return `-XMP-MP:RegionInfoMP={Regions=[${list.join(',')}]}`;
}

/** A sidecar as digiKam writes it: attributes, pixel units for MWG, MP regions beside them. */
function digikamSidecar(regions: Array<{ name: string; box: NormBox }>, W: number, H: number): string {
  const x = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  const mwg = regions.map(({ name, box: b }) => {
    const [w, h] = [(b.x2 - b.x1) * W, (b.y2 - b.y1) * H];
    return `      <rdf:li><rdf:Description mwg-rs:Name="${x(name)}" mwg-rs:Type="Face">
        <mwg-rs:Area stArea:x="${b.x1 * W + w / 2}" stArea:y="${b.y1 * H + h / 2}" stArea:w="${w}" stArea:h="${h}" stArea:unit="pixel"/>
      </rdf:Description></rdf:li>`;
  });
  const mp = regions.map(({ name, box: b }) => `     <rdf:li MPReg:PersonDisplayName="${x(name)}" MPReg:Rectangle="${b.x1}, ${b.y1}, ${b.x2 - b.x1}, ${b.y2 - b.y1}"/>`);
  return `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#"
    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
    xmlns:MP="http://ns.microsoft.com/photo/1.2/"
    xmlns:MPRI="http://ns.microsoft.com/photo/1.2/t/RegionInfo#"
    xmlns:MPReg="http://ns.microsoft.com/photo/1.2/t/Region#">
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:AppliedToDimensions stDim:w="${W}" stDim:h="${H}" stDim:unit="pixel"/>
    <mwg-rs:RegionList>
     <rdf:Bag>
${mwg.join('\n')}
     </rdf:Bag>
    </mwg-rs:RegionList>
   </mwg-rs:Regions>
   <MP:RegionInfo rdf:parseType="Resource">
    <MPRI:Regions><rdf:Bag>
${mp.join('\n')}
    </rdf:Bag></MPRI:Regions>
   </MP:RegionInfo>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`;
}

// The reader Kith would use with exiftool-vendored: the same regions, merged the same way.

/** Reads a photo's named regions, upright. */
type RegionReader = (photoPath: string) => Promise<NamedRegion[]>;

type Struct = Record<string, unknown>;
const asRecord = (v: unknown): Struct | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Struct) : undefined);
const asList = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);

/** Only what the regions need: ExifTool skips the rest of the file's tags. `#`: the orientation as its number. */
const READ_ARGS = ['-struct', '-fast', '-XMP-mwg-rs:RegionInfo', '-XMP-MP:RegionInfoMP', '-Orientation#'];

/** Named face regions in ExifTool's tags, in the photo as stored (MWG: centre and size; MP: top-left and size). */
function regionsInExiftoolTags(tags: Struct): Array<{ name: string; box: NormBox }> {
  const out: Array<{ name: string; box: NormBox }> = [];
  const mwg = asRecord(tags.RegionInfo);
  const dims = asRecord(mwg?.AppliedToDimensions);
  for (const item of asList(mwg?.RegionList)) {
    const r = asRecord(item);
    if (!r || (typeof r.Type === 'string' && r.Type.toLowerCase() !== 'face')) continue;
    const name = usableName(r.Name);
    const a = asRecord(r.Area);
    if (!name || !a) continue;
    let [x, y, w, h] = [num(a.X), num(a.Y), num(a.W), num(a.H)];
    if (typeof a.Unit === 'string' && a.Unit.toLowerCase() === 'pixel') {
      const [W, H] = [num(dims?.W), num(dims?.H)];
      [x, y, w, h] = [x / W, y / H, w / W, h / H];
    }
    if (![x, y, w, h].every(Number.isFinite)) continue;
    const box = clampBox({ x1: x - w / 2, y1: y - h / 2, x2: x + w / 2, y2: y + h / 2 });
    if (box) out.push({ name, box });
  }
  for (const item of asList(asRecord(tags.RegionInfoMP)?.Regions)) {
    const r = asRecord(item);
    const name = usableName(r?.PersonDisplayName);
    const rect = String(r?.Rectangle ?? '').split(',').map(num);
    if (!name || rect.length !== 4 || !rect.every(Number.isFinite)) continue;
    const [x, y, w, h] = rect as [number, number, number, number];
    const box = clampBox({ x1: x, y1: y, x2: x + w, y2: y + h });
    if (box) out.push({ name, box });
  }
  return out;
}

/** A photo's named regions read with ExifTool: sidecars, then the photo, merged as xmp-regions.ts merges them. */
async function readPhotoRegionsWith(et: ExifTool, photoPath: string): Promise<NamedRegion[]> {
  const sources: StoredRegions[] = [];
  for (const file of sidecarPaths(photoPath)) {
    if (!existsSync(file)) continue;
    const tags = (await et.read(file, { readArgs: READ_ARGS })) as unknown as Struct;
    sources.push({ source: 'sidecar', file, regions: regionsInExiftoolTags(tags) });
  }
  const tags = (await et.read(photoPath, { readArgs: READ_ARGS })) as unknown as Struct;
  sources.push({ source: 'embedded', file: photoPath, regions: regionsInExiftoolTags(tags) });
  const orientation = num(tags.Orientation);
  return mergeUpright(sources, Number.isInteger(orientation) ? orientation : 1);
}

interface Fixture {
  photo: string;
  kind: string;
  /** What a correct reader returns: upright boxes, the winning source's names. */
  want: Array<{ name: string; box: NormBox }>;
}

/** N photos, each of one kind in turn; one exiftool process writes all the regions (an argument file, -execute per photo). */
async function makeFixtures(dir: string): Promise<Fixture[]> {
  const sources = readdirSync(join(FACES, 'groups'), { recursive: true, encoding: 'utf8' })
    .filter((p) => /\.jpe?g$/i.test(p))
    .sort();
  const rand = seededRandom(7);
  const someRegions = (): Array<{ name: string; box: NormBox }> => {
    const n = 1 + Math.floor(rand() * 4);
    return Array.from({ length: n }, (_, i) => {
      // Side by side, so that no two regions of a photo overlap.
      const x1 = i * 0.25 + rand() * 0.05;
      const y1 = rand() * 0.5;
      return { name: NAMES[Math.floor(rand() * NAMES.length)]! + (i ? ` ${i}` : ''), box: { x1, y1, x2: x1 + 0.1 + rand() * 0.1, y2: y1 + 0.15 + rand() * 0.2 } };
    });
  };
  const kinds = ['mwg jpg.xmp', 'mwg .xmp', 'mp embedded', 'mwg embedded, orientation 6', 'digiKam sidecar (pixels, mp)', 'sidecar wins over embedded', 'mp sidecar, orientation 8'];
  const args: string[] = [];
  const out: Fixture[] = [];
  for (let i = 0; i < N; i++) {
    const kind = kinds[i % kinds.length]!;
    const src = join(FACES, 'groups', sources[i % sources.length]!);
    const photo = join(dir, `p${String(i).padStart(3, '0')}.jpg`);
    const orientation = kind.includes('orientation 6') ? 6 : kind.includes('orientation 8') ? 8 : 1;
    if (orientation === 1) cpSync(src, photo);
    else await sharp(src).rotate(orientation === 6 ? 270 : 90).withMetadata({ orientation }).jpeg({ quality: 90 }).toFile(photo);
    const meta = await sharp(photo).metadata();
    const regions = someRegions();
    const asStored = regions.map((r) => ({ name: r.name, box: stored(r.box, orientation) }));
    const run = (...a: string[]) => args.push(...a, '-execute');
    if (kind === 'mwg jpg.xmp') run('-o', `${photo}.xmp`, mwgArg(asStored), photo);
    else if (kind === 'mwg .xmp') run('-o', join(dir, `p${String(i).padStart(3, '0')}.xmp`), mwgArg(asStored), photo);
    else if (kind === 'mp embedded') run('-overwrite_original', mpArg(asStored), photo);
    else if (kind.startsWith('mwg embedded')) run('-overwrite_original', mwgArg(asStored), photo);
    else if (kind.startsWith('digiKam')) writeFileSync(`${photo}.xmp`, digikamSidecar(asStored, meta.width!, meta.height!));
    else if (kind === 'sidecar wins over embedded') {
      // The sidecar first: made from the photo, ExifTool would copy the photo's XMP into it.
      const other = asStored.map((r) => ({ name: `${r.name} (old)`, box: r.box }));
      run('-o', `${photo}.xmp`, mwgArg(asStored), photo);
      run('-overwrite_original', mwgArg(other), mpArg(other), photo);
    } else run('-o', `${photo}.xmp`, mpArg(asStored), photo);
    out.push({ photo, kind, want: regions });
  }
  const argfile = join(dir, 'args.txt');
  writeFileSync(argfile, args.join('\n') + '\n');
  const r = spawnSync('exiftool', ['-q', '-q', '-charset', 'filename=utf8', '-@', argfile], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`exiftool: ${r.stderr}`);
  return out;
}

/** Why `got` is not `want` (null when it is): the same names, boxes within TOLERANCE. */
function difference(got: readonly NamedRegion[], want: Fixture['want']): string | null {
  const g = [...got].sort((a, b) => a.name.localeCompare(b.name));
  const w = [...want].sort((a, b) => a.name.localeCompare(b.name));
  if (g.map((r) => r.name).join('|') !== w.map((r) => r.name).join('|')) return `names ${JSON.stringify(g.map((r) => r.name))}, want ${JSON.stringify(w.map((r) => r.name))}`;
  for (let i = 0; i < g.length; i++) {
    for (const k of ['x1', 'y1', 'x2', 'y2'] as const) {
      if (Math.abs(g[i]!.box[k] - w[i]!.box[k]) > TOLERANCE) return `${g[i]!.name}: box ${JSON.stringify(g[i]!.box)}, want ${JSON.stringify(w[i]!.box)}`;
    }
  }
  return null;
}

/** Median over the rounds of the time to read every photo once, per photo, in ms; plus each photo's regions. */
async function timeReader(fixtures: readonly Fixture[], read: RegionReader): Promise<{ msPerPhoto: number; results: NamedRegion[][] }> {
  const results: NamedRegion[][] = [];
  for (const f of fixtures) results.push(await read(f.photo)); // warm-up round, and the answers checked
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (const f of fixtures) await read(f.photo);
    times.push((performance.now() - t0) / fixtures.length);
  }
  return { msPerPhoto: times.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!, results };
}

const { dir, remove } = tempDir('kith-region-bench-');
try {
  const m = machine();
  console.log(machineLine(m));
  const fixtures = await makeFixtures(dir);
  console.log(`${fixtures.length} photos with regions (${[...new Set(fixtures.map((f) => f.kind))].join('; ')}), ${ROUNDS} rounds`);

  const exifr = await timeReader(fixtures, async (p) => (await photoRegions(p)).regions);

  const t0 = performance.now();
  const et = new ExifTool({ maxProcs: 1, taskTimeoutMillis: 30_000 });
  const version = await et.version();
  const startMs = performance.now() - t0;
  let exiftool;
  try {
    exiftool = await timeReader(fixtures, (p) => readPhotoRegionsWith(et, p));
  } finally {
    await et.end();
  }

  const wrong = { exifr: [] as string[], exiftool: [] as string[] };
  fixtures.forEach((f, i) => {
    const a = difference(exifr.results[i]!, f.want);
    const b = difference(exiftool.results[i]!, f.want);
    if (a) wrong.exifr.push(`${f.kind} (${f.photo}): ${a}`);
    if (b) wrong.exiftool.push(`${f.kind} (${f.photo}): ${b}`);
  });
  const regions = fixtures.reduce((n, f) => n + f.want.length, 0);
  console.log(`exifr 7.1.3 (+ sharp for the orientation and the embedded packet): ${exifr.msPerPhoto.toFixed(2)} ms/photo, ${fixtures.length - wrong.exifr.length}/${fixtures.length} photos right`);
  console.log(`exiftool-vendored (ExifTool ${version}, one process): start ${startMs.toFixed(0)} ms, then ${exiftool.msPerPhoto.toFixed(2)} ms/photo, ${fixtures.length - wrong.exiftool.length}/${fixtures.length} photos right`);
  for (const [lib, list] of Object.entries(wrong)) for (const w of list.slice(0, 10)) console.log(`  ${lib} wrong: ${w}`);
  printJson({
    machine: m,
    photos: fixtures.length,
    regions,
    rounds: ROUNDS,
    exifr: { msPerPhoto: exifr.msPerPhoto, wrong: wrong.exifr.length },
    exiftool: { startMs, msPerPhoto: exiftool.msPerPhoto, wrong: wrong.exiftool.length, version },
  });
} finally {
  remove();
}

/**
 * @file `kith export --xmp` writes Kith's names into XMP sidecars that other tools read: MWG and
 * Microsoft Photo regions, read back by Debian's exiftool and by Kith's own importer at the faces
 * Kith found, in all eight EXIF orientations; People keywords; merged into an existing sidecar
 * without losing its rating, title, keywords or other regions; unnamed faces and missing photos
 * left out; the photos themselves never written; the Library screen's button does the same. Fixtures are real group photos turned and
 * tagged at test time; nothing binary is committed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { readPhotoRegions, type NormBox } from '../native/metadata/xmp-regions.ts';
import { iou as boxIou } from '../native/common/geometry.ts';
import { PeopleService } from '../native/people/service.ts';
import { Store } from '../native/store/index.ts';
import { NO_BROWSER, ensureRendererBuilt, launch, serve, shot, waitText } from './browser.ts';
import { FACES, runCli, tempDir, waitFor } from './helpers.ts';

const EXIFTOOL = spawnSync('exiftool', ['-ver'], { encoding: 'utf8' });
const skip = EXIFTOOL.status === 0 ? false : 'exiftool is not installed (Debian: apt install libimage-exiftool-perl); CI installs it';

const TWO_PEOPLE = join(FACES, 'groups/face_recognition/two_people.jpg');
/** Penny's head in bbt3.jpg, drawn by eye (as in test/xmp-import.test.ts). */
const PENNY: NormBox = { x1: 0.396, y1: 0.196, x2: 0.556, y2: 0.457 };
/** A region another tool drew on the curtain (a pet, say): Kith must keep it. */
const REX: NormBox = { x1: 0.45, y1: 0.4, x2: 0.55, y2: 0.6 };
/** 0.5% of the photo's size. */
const TOLERANCE = 0.005;

/**
 * The test's own reading of EXIF orientation, written out per case rather than shared with the
 * code under test: where a point of the stored pixels lands in the upright photo.
 */
const TO_UPRIGHT: Record<number, (x: number, y: number) => [number, number]> = {
  1: (x, y) => [x, y],
  2: (x, y) => [1 - x, y],
  3: (x, y) => [1 - x, 1 - y],
  4: (x, y) => [x, 1 - y],
  5: (x, y) => [y, x],
  6: (x, y) => [1 - y, x],
  7: (x, y) => [1 - y, 1 - x],
  8: (x, y) => [y, 1 - x],
};

function uprightOf(b: NormBox, orientation: number): NormBox {
  const [ax, ay] = TO_UPRIGHT[orientation]!(b.x1, b.y1);
  const [bx, by] = TO_UPRIGHT[orientation]!(b.x2, b.y2);
  return { x1: Math.min(ax, bx), y1: Math.min(ay, by), x2: Math.max(ax, bx), y2: Math.max(ay, by) };
}

/** The stored pixels of a photo shown upright with `orientation`: each step a separate sharp call. */
async function storedPixels(upright: string, orientation: number): Promise<Buffer> {
  const steps: Record<number, Array<(s: Sharp) => Sharp>> = {
    1: [],
    2: [(s) => s.flop()],
    3: [(s) => s.rotate(180)],
    4: [(s) => s.flip()],
    5: [(s) => s.rotate(90), (s) => s.flop()],
    6: [(s) => s.rotate(270)],
    7: [(s) => s.rotate(90), (s) => s.flip()],
    8: [(s) => s.rotate(90)],
  };
  let buf = readFileSync(upright);
  for (const step of steps[orientation]!) buf = await step(sharp(buf)).png().toBuffer();
  return sharp(buf).jpeg({ quality: 92 }).toBuffer();
}

function exiftool(args: string[]): string {
  const r = spawnSync('exiftool', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `exiftool ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// The browser global used inside a page.evaluate callback (this file compiles without the DOM lib).
declare const location: { hash: string };

type Json = Record<string, unknown>;
/** What another tool sees in a sidecar: Debian's exiftool, as the brief of issue 11 asks. */
function readBack(sidecar: string): Json {
  return (JSON.parse(exiftool(['-j', '-struct', '-XMP-mwg-rs:all', '-XMP-MP:all', '-XMP-digiKam:TagsList', '-XMP-lr:HierarchicalSubject', '-XMP-dc:all', '-XMP-xmp:Rating', sidecar])) as Json[])[0]!;
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const near = (a: NormBox, b: NormBox) => Math.max(Math.abs(a.x1 - b.x1), Math.abs(a.y1 - b.y1), Math.abs(a.x2 - b.x2), Math.abs(a.y2 - b.y2));

describe('names written back into XMP sidecars', { skip }, () => {
  const dir = tempDir('kith-xmp-export-');
  const lib = join(dir, 'photos');
  const db = join(dir, 'library.db');
  const oriented = (n: number) => join(lib, 'oriented', `o${n}.jpg`);
  const keptPhoto = join(lib, 'kept', 'two_people.jpg');
  const bbt3 = join(lib, 'group', 'bbt3.jpg');
  const gone = join(lib, 'gone', 'bbt4.jpg');
  /** Two photos named `a.*` in one folder: `a.xmp` would be both's. */
  const pair = [join(lib, 'pair', 'a.jpg'), join(lib, 'pair', 'a.png')];
  /** A photo whose `photo.jpg.xmp` is not XMP at all (a JPEG renamed by mistake). */
  const odd = join(lib, 'odd', 'two_people.jpg');
  /** Each named face's box, normalised in the upright photo, as Kith stores it: photo → name → box. */
  const named = new Map<string, Map<string, NormBox>>();
  const hashes = new Map<string, string>();
  let firstExport: { code: number | null; stdout: string; stderr: string };

  before(async () => {
    mkdirSync(join(lib, 'oriented'), { recursive: true });
    const upright = await sharp(TWO_PEOPLE).raw().toBuffer({ resolveWithObject: true });
    for (let n = 1; n <= 8; n++) {
      await sharp(await storedPixels(TWO_PEOPLE, n)).toFile(oriented(n));
      exiftool(['-q', '-overwrite_original', `-Orientation#=${n}`, oriented(n)]);
      // The fixture is right: shown upright, it is the original photo again.
      const shown = await sharp(oriented(n)).rotate().raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([shown.info.width, shown.info.height], [upright.info.width, upright.info.height], `o${n} upright size`);
      let diff = 0;
      for (let i = 0; i < shown.data.length; i++) diff += Math.abs(shown.data[i]! - upright.data[i]!);
      assert.ok(diff / shown.data.length < 6, `o${n} shown upright is the original (mean difference ${diff / shown.data.length})`);
    }
    for (const [to, from] of [[keptPhoto, TWO_PEOPLE], [bbt3, join(FACES, 'groups/faceapi/bbt3.jpg')], [gone, join(FACES, 'groups/faceapi/bbt4.jpg')]] as const) {
      mkdirSync(join(to, '..'), { recursive: true });
      cpSync(from, to);
    }
    // A sidecar another tool made: rating, title, keywords, and a region Kith knows nothing of.
    const [w, h] = [REX.x2 - REX.x1, REX.y2 - REX.y1];
    exiftool([
      '-q', '-o', `${keptPhoto}.xmp`, '-XMP-xmp:Rating=4', '-XMP-dc:Title=Summer', '-XMP-dc:Subject=Holiday', '-XMP-dc:Subject=Beach', '-XMP-lr:HierarchicalSubject=Places|Beach',
      `-XMP-mwg-rs:RegionInfo={RegionList=[{Area={X=${REX.x1 + w / 2},Y=${REX.y1 + h / 2},W=${w},H=${h},Unit=normalized},Name=Rex,Type=Pet}]}`, keptPhoto,
    ]);
    mkdirSync(join(lib, 'pair'));
    // Each a different file from two_people.jpg (a copy would be indexed once, as a duplicate).
    await sharp(TWO_PEOPLE).jpeg({ quality: 90 }).toFile(pair[0]!);
    await sharp(TWO_PEOPLE).png().toFile(pair[1]!);
    mkdirSync(join(lib, 'odd'));
    await sharp(TWO_PEOPLE).jpeg({ quality: 85 }).toFile(odd);
    cpSync(join(FACES, 'groups/faceapi/bbt5.jpg'), `${odd}.xmp`);
    for (const p of [...[1, 2, 3, 4, 5, 6, 7, 8].map(oriented), keptPhoto, bbt3, gone, ...pair, odd, `${odd}.xmp`]) hashes.set(p, sha(p));

    const r = await runCli(['index', lib, '--db', db, '--device', 'cpu']);
    assert.equal(r.code, 0, r.stderr);

    // Name the faces as a user would: left man Barack Obama, right man Joe Biden; in bbt3 only Penny.
    const store = new Store(db);
    try {
      const people = new PeopleService(store);
      const facesOf = (path: string) => {
        const photo = store.photos.list().find((p) => p.path.endsWith(path.slice(lib.length)))!;
        assert.ok(photo, `${path} is indexed`);
        return store.faces.forPhoto(photo.id).map((f) => ({
          id: f.id,
          box: { x1: f.box.x1 / photo.width!, y1: f.box.y1 / photo.height!, x2: f.box.x2 / photo.width!, y2: f.box.y2 / photo.height! },
        }));
      };
      const nameFace = (path: string, face: { id: number; box: NormBox }, name: string) => {
        const person = store.people.findByName(name);
        if (person) people.moveFaces([face.id], { personId: person.id });
        else people.moveFaces([face.id], { newPersonName: name });
        const m = named.get(path) ?? new Map<string, NormBox>();
        m.set(name, face.box);
        named.set(path, m);
      };
      for (const path of [...[1, 2, 3, 4, 5, 6, 7, 8].map(oriented), keptPhoto, ...pair, odd]) {
        const faces = facesOf(path).sort((a, b) => a.box.x1 - b.box.x1);
        assert.equal(faces.length, 2, `two faces in ${path}`);
        nameFace(path, faces[0]!, 'Barack Obama');
        nameFace(path, faces[1]!, 'Joe Biden');
      }
      const bbtFaces = facesOf(bbt3);
      assert.ok(bbtFaces.length >= 5, 'the cast of bbt3 is found');
      nameFace(bbt3, bbtFaces.find((f) => boxIou(f.box, PENNY) >= 0.3)!, 'Penny');
      nameFace(gone, facesOf(gone)[0]!, 'Penny');
    } finally {
      store.close();
    }
    rmSync(gone);
    firstExport = await runCli(['export', '--xmp', '--db', db]);
    assert.equal(firstExport.code, 0, firstExport.stderr);
  });

  it('writes MWG and Microsoft regions that exiftool and Kith read back at the named faces, in all eight orientations', async (t) => {
    for (let n = 1; n <= 8; n++) {
      const photo = oriented(n);
      const sidecar = `${photo}.xmp`;
      const x = readBack(sidecar);
      const stored = await sharp(photo).metadata();
      const mwg = x.RegionInfo as { AppliedToDimensions: Json; RegionList: Array<{ Name: string; Type: string; Area: Json }> };
      assert.deepEqual(mwg.AppliedToDimensions, { W: stored.width, H: stored.height, Unit: 'pixel' }, `o${n}: the dimensions of the image as stored`);
      const mp = (x.RegionInfoMP as { Regions: Array<{ PersonDisplayName: string; Rectangle: string }> }).Regions;
      const want = named.get(photo)!;
      assert.deepEqual(mwg.RegionList.map((r) => r.Name).sort(), [...want.keys()].sort());
      assert.deepEqual(mp.map((r) => r.PersonDisplayName).sort(), [...want.keys()].sort());
      for (const r of mwg.RegionList) {
        assert.equal(r.Type, 'Face');
        assert.equal(r.Area.Unit, 'normalized');
        const [cx, cy, w, h] = [r.Area.X, r.Area.Y, r.Area.W, r.Area.H] as number[];
        const box = uprightOf({ x1: cx! - w! / 2, y1: cy! - h! / 2, x2: cx! + w! / 2, y2: cy! + h! / 2 }, n);
        t.diagnostic(`o${n} MWG ${r.Name}: off by ${near(box, want.get(r.Name)!).toFixed(4)}`);
        assert.ok(near(box, want.get(r.Name)!) <= TOLERANCE, `o${n} MWG ${r.Name} lies on the face Kith named`);
      }
      for (const r of mp) {
        const [x1, y1, w, h] = r.Rectangle.split(',').map(Number) as [number, number, number, number];
        const box = uprightOf({ x1, y1, x2: x1 + w, y2: y1 + h }, n);
        assert.ok(near(box, want.get(r.PersonDisplayName)!) <= TOLERANCE, `o${n} MP ${r.PersonDisplayName} lies on the face Kith named`);
      }
      const imported = await readPhotoRegions(photo);
      // The importer returns a face's MWG and its Microsoft region both (one packet holds both).
      assert.deepEqual([...new Set(imported.map((r) => r.name))].sort(), [...want.keys()].sort(), `o${n}: Kith's importer reads the same names`);
      for (const r of imported) assert.ok(near(r.box, want.get(r.name)!) <= TOLERANCE, `o${n}: Kith's importer puts ${r.name} on the face`);
      assert.deepEqual(x.TagsList, ['People/Barack Obama', 'People/Joe Biden']);
      assert.deepEqual(x.HierarchicalSubject, ['People|Barack Obama', 'People|Joe Biden']);
      assert.deepEqual(x.Subject, ['Barack Obama', 'Joe Biden']);
    }
  });

  it('never writes a photo, nor a file in a sidecar\'s place that is not XMP: every one is byte for byte as it was', () => {
    for (const [path, hash] of hashes) if (existsSync(path)) assert.equal(sha(path), hash, `${path} unchanged`);
  });

  it('merges into an existing sidecar, keeping its rating, title, keywords and other regions; a second export changes nothing', async () => {
    const x = readBack(`${keptPhoto}.xmp`);
    assert.equal(x.Rating, 4);
    assert.equal(x.Title, 'Summer');
    assert.deepEqual(x.Subject, ['Holiday', 'Beach', 'Barack Obama', 'Joe Biden']);
    assert.deepEqual(x.HierarchicalSubject, ['Places|Beach', 'People|Barack Obama', 'People|Joe Biden']);
    const regions = (x.RegionInfo as { RegionList: Array<{ Name: string; Type: string; Area: Json }> }).RegionList;
    assert.deepEqual(regions.map((r) => `${r.Name}:${r.Type}`), ['Rex:Pet', 'Barack Obama:Face', 'Joe Biden:Face']);
    const rex = regions[0]!.Area as { X: number; Y: number; W: number; H: number };
    assert.ok(Math.abs(rex.X - 0.5) < 1e-6 && Math.abs(rex.W - 0.1) < 1e-6, 'Rex stays where it was');

    const before = [1, 5, 8].map((n) => readBack(`${oriented(n)}.xmp`)).concat([x]);
    const again = await runCli(['export', '--xmp', '--db', db]);
    assert.equal(again.code, 0, again.stderr);
    const after = [1, 5, 8].map((n) => readBack(`${oriented(n)}.xmp`)).concat([readBack(`${keptPhoto}.xmp`)]);
    assert.deepEqual(after, before, 'no region or keyword is written twice');
  });

  it('writes only named faces, and skips a photo whose file is gone with a message', () => {
    const x = readBack(`${bbt3}.xmp`);
    assert.deepEqual((x.RegionInfo as { RegionList: Array<{ Name: string }> }).RegionList.map((r) => r.Name), ['Penny']);
    assert.deepEqual((x.RegionInfoMP as { Regions: Array<{ PersonDisplayName: string }> }).Regions.map((r) => r.PersonDisplayName), ['Penny']);
    assert.equal(existsSync(`${gone}.xmp`), false);
    assert.match(firstExport.stderr, /skipped .*bbt4\.jpg: file not found/);
    assert.match(firstExport.stderr, /skipped .*odd\/two_people\.jpg: .*two_people\.jpg\.xmp is not an XMP file \(JPEG\)/);
    assert.match(firstExport.stdout, /Wrote 23 named faces into the XMP sidecars of 12 photos; 2 skipped\. No photo was changed\./);
    for (const p of pair) assert.deepEqual((readBack(`${p}.xmp`).RegionInfo as { RegionList: Array<{ Name: string }> }).RegionList.map((r) => r.Name).sort(), ['Barack Obama', 'Joe Biden']);
    assert.equal(existsSync(join(lib, 'oriented', 'o1.xmp')), false, 'the default is photo.jpg.xmp only');
  });

  it('--sidecar xmp writes Adobe-style photo.xmp; an unknown style is refused', async () => {
    const r = await runCli(['export', '--xmp', '--sidecar', 'xmp', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(join(lib, 'pair', 'a.xmp')), false, 'a.xmp would name the faces of two photos');
    assert.match(r.stderr, /skipped .*pair\/a\.jpg: .*a\.xmp would be shared by .*a\.jpg, .*a\.png/);
    const x = readBack(join(lib, 'oriented', 'o6.xmp'));
    assert.deepEqual((x.RegionInfo as { RegionList: Array<{ Name: string }> }).RegionList.map((r) => r.Name).sort(), ['Barack Obama', 'Joe Biden']);
    const bad = await runCli(['export', '--xmp', '--sidecar', 'txt', '--db', db]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /sidecar must be jpg\.xmp or xmp/);
  });

  it('says perl is needed, and writes nothing, where there is no perl', async () => {
    rmSync(`${bbt3}.xmp`);
    // A PATH without perl (node itself is started by its full path).
    const r = await runCli(['export', '--xmp', '--db', db], { env: { ...process.env, PATH: join(dir, 'no-perl-here') } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Writing XMP files needs perl/);
    assert.equal(existsSync(`${bbt3}.xmp`), false);
  });

  it('the Library screen writes them too, in either style, when asked', { skip: NO_BROWSER }, async () => {
    ensureRendererBuilt();
    for (const f of [`${bbt3}.xmp`, join(lib, 'group', 'bbt3.xmp')]) rmSync(f, { force: true });
    const server = await serve(db);
    const browser = await launch();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`${server.url}`);
      await page.evaluate(() => (location.hash = '#/library'));
      await page.getByTestId('xmp-export').waitFor();
      assert.equal(existsSync(`${bbt3}.xmp`), false, 'nothing is written before the user asks');
      await page.getByTestId('xmp-export-button').click();
      await waitText(page.getByTestId('xmp-export-result'), 'Wrote 23 names into the sidecars of 12 photos; 2 skipped.');
      assert.match((await page.getByTestId('xmp-export-skipped').textContent()) ?? '', /bbt4\.jpg\s*file not found/);
      assert.deepEqual((readBack(`${bbt3}.xmp`).RegionInfo as { RegionList: Array<{ Name: string }> }).RegionList.map((r) => r.Name), ['Penny']);
      assert.equal(existsSync(join(lib, 'group', 'bbt3.xmp')), false);
      await page.getByTestId('xmp-sidecar-style').selectOption('xmp');
      await page.getByTestId('xmp-export-button').click();
      await waitFor('the bbt3.xmp sidecar', () => existsSync(join(lib, 'group', 'bbt3.xmp')));
      await waitText(page.getByTestId('xmp-export-button'), 'Write XMP sidecars');
      assert.deepEqual((readBack(join(lib, 'group', 'bbt3.xmp')).RegionInfo as { RegionList: Array<{ Name: string }> }).RegionList.map((r) => r.Name), ['Penny']);
      await shot(page, 'library-xmp-export');
    } finally {
      await browser.close();
      await server.stop();
    }
  });
});

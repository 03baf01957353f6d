/**
 * @file Names other photo tools wrote into XMP become Kith people when indexing: MWG regions in
 * a digiKam sidecar (photo.jpg.xmp), an Adobe sidecar (photo.xmp) and inside a photo stored
 * sideways (EXIF orientation 6), and Microsoft Photo regions inside a photo. Fixtures are real
 * group photos given regions by exiftool at test time (hand-drawn head boxes, as a person
 * tagging in digiKam would draw them); nothing binary is committed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { regionsInXmp, uprightBox, type NormBox } from '../native/metadata/xmp-regions.ts';
import { iou as boxIou } from '../native/common/geometry.ts';
import { REGION_FACE_IOU } from '../native/metadata/region-import.ts';
import { PeopleService } from '../native/people/service.ts';
import { Store } from '../native/store/index.ts';
import { FACES, runCli, tempDir } from './helpers.ts';

const EXIFTOOL = spawnSync('exiftool', ['-ver'], { encoding: 'utf8' });
const skip = EXIFTOOL.status === 0 ? false : 'exiftool is not installed (Debian: apt install libimage-exiftool-perl); CI installs it';

/** Head boxes drawn by eye on the upright photos, top-left corner and size, normalised. */
const TWO_PEOPLE: Record<string, NormBox> = {
  'Barack Obama': { x1: 0.18, y1: 0.01, x2: 0.35, y2: 0.35 },
  'Joe Biden': { x1: 0.675, y1: 0.01, x2: 0.86, y2: 0.39 },
};
const BBT3: Record<string, NormBox> = {
  Sheldon: { x1: 0.042, y1: 0.013, x2: 0.168, y2: 0.287 },
  Howard: { x1: 0.236, y1: 0.17, x2: 0.354, y2: 0.43 },
  Penny: { x1: 0.396, y1: 0.196, x2: 0.556, y2: 0.457 },
  Raj: { x1: 0.598, y1: 0.209, x2: 0.741, y2: 0.47 },
  Leonard: { x1: 0.808, y1: 0.183, x2: 0.943, y2: 0.457 },
};
/** On the curtain between the two men: a name where Kith detects no face (it becomes a face of its own). */
const NOBODY: NormBox = { x1: 0.45, y1: 0.4, x2: 0.55, y2: 0.6 };

/** A copy of a labelled photo at `lib/<folder>/<its name>`. */
function copyTo(folder: string, rel: string): string {
  const to = join(folder, rel.split('/').pop()!);
  mkdirSync(folder, { recursive: true });
  cpSync(join(FACES, rel), to);
  return to;
}

function exiftool(args: string[]): void {
  const r = spawnSync('exiftool', ['-q', '-q', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `exiftool ${args.join(' ')}: ${r.stderr}`);
}

/** exiftool's struct syntax: `|` escapes a comma inside a value. */
function mwg(regions: Array<[string, NormBox]>): string {
  const list = regions.map(([name, b]) => {
    const [w, h] = [b.x2 - b.x1, b.y2 - b.y1];
    return `{Area={X=${b.x1 + w / 2},Y=${b.y1 + h / 2},W=${w},H=${h},Unit=normalized},Name=${name},Type=Face}`;
  });
  return `-XMP-mwg-rs:RegionInfo={RegionList=[${list.join(',')}]}`;
}

function mp(regions: Array<[string, NormBox]>): string {
  const list = regions.map(([name, b]) => `{Rectangle=${b.x1}|, ${b.y1}|, ${b.x2 - b.x1}|, ${b.y2 - b.y1},PersonDisplayName=${name}}`);
  return `-XMP-MP:RegionInfoMP={Regions=[${list.join(',')}]}`;
}

/** The box in a photo stored turned 90° anticlockwise (EXIF orientation 6 turns it back). */
function storedForOrientation6(u: NormBox): NormBox {
  return { x1: u.y1, y1: 1 - u.x2, x2: u.y2, y2: 1 - u.x1 };
}

describe('names from XMP face regions', { skip }, () => {
  const dir = tempDir('kith-xmp-');
  const lib = join(dir, 'photos');
  const db = join(dir, 'library.db');
  const bbtSidecar = join(lib, 'embedded', 'bbt3.xmp');

  before(async () => {
    const sidecarPhoto = copyTo(join(lib, 'sidecar'), 'groups/face_recognition/two_people.jpg');
    // digiKam's sidecar: MWG regions, plus a pseudo-name and a name on the curtain.
    exiftool(['-o', `${sidecarPhoto}.xmp`, mwg([...Object.entries(TWO_PEOPLE), ['Unknown', { x1: 0.6, y1: 0.5, x2: 0.7, y2: 0.6 }], ['Nobody Here', NOBODY]]), sidecarPhoto]);

    // Windows Photo Gallery: MP regions inside the photo, two names on Penny's face; Adobe's
    // sidecar names Sheldon otherwise, and the sidecar wins.
    const bbt = copyTo(join(lib, 'embedded'), 'groups/faceapi/bbt3.jpg');
    const penny = BBT3.Penny!;
    const kaley = { x1: penny.x1 + 0.01, y1: penny.y1 + 0.01, x2: penny.x2 + 0.01, y2: penny.y2 };
    exiftool(['-o', bbtSidecar, mwg([['Dr. Sheldon Cooper', BBT3.Sheldon!]]), bbt]);
    exiftool(['-overwrite_original', mp([...Object.entries(BBT3), ['Kaley Cuoco', kaley]]), bbt]);

    // A phone photo: pixels stored sideways with orientation 6; its regions are in the stored pixels.
    mkdirSync(join(lib, 'rotated'));
    const rotated = join(lib, 'rotated', 'two_people.jpg');
    await sharp(join(FACES, 'groups/face_recognition/two_people.jpg')).rotate(270).withMetadata({ orientation: 6 }).jpeg({ quality: 92 }).toFile(rotated);
    exiftool(['-overwrite_original', mwg([['barack obama', storedForOrientation6(TWO_PEOPLE['Barack Obama']!)], ['Joe Biden', storedForOrientation6(TWO_PEOPLE['Joe Biden']!)]]), rotated]);

    // Photos of the same cast without regions: the clustering groups their faces.
    copyTo(join(lib, 'untagged'), 'groups/faceapi/bbt4.jpg');
    copyTo(join(lib, 'untagged'), 'groups/faceapi/bbt5.jpg');

    const r = await runCli(['index', lib, '--db', db, '--device', 'cpu']);
    assert.equal(r.code, 0, r.stderr);
  });

  /**
   * The person's confirmed faces (as if the user had named them) as `photo → IoU of its box
   * with the region`; faces the clustering added to them since are not counted.
   */
  function facesOf(store: Store, name: string, region: NormBox): Map<string, number> {
    const person = store.people.findByName(name);
    assert.ok(person, `${name} is a person`);
    const out = new Map<string, number>();
    for (const { faceId, source } of store.people.facesOf(person.id)) {
      if (source !== 'user') continue;
      const face = store.faces.get(faceId)!;
      const photo = store.photos.getById(face.photoId)!;
      const b = face.box;
      const iou = boxIou({ x1: b.x1 / photo.width!, y1: b.y1 / photo.height!, x2: b.x2 / photo.width!, y2: b.y2 / photo.height! }, region);
      out.set(photo.path.slice(lib.length + 1), Math.round(iou * 100) / 100);
    }
    return out;
  }

  function checkPeople(t: { diagnostic(msg: string): void }): void {
    const store = new Store(db);
    try {
      for (const [name, region] of Object.entries(TWO_PEOPLE)) {
        const faces = facesOf(store, name, region);
        t.diagnostic(`${name}: ${JSON.stringify([...faces])}`);
        // The sideways copy's name is written in lower case: one person all the same.
        assert.deepEqual([...faces.keys()].sort(), ['rotated/two_people.jpg', 'sidecar/two_people.jpg']);
        for (const iou of faces.values()) assert.ok(iou >= REGION_FACE_IOU, `${name}'s face lies in their region (IoU ${iou})`);
      }
      for (const name of ['Howard', 'Raj', 'Leonard']) {
        const faces = facesOf(store, name, BBT3[name]!);
        t.diagnostic(`${name}: ${JSON.stringify([...faces])}`);
        assert.deepEqual([...faces.keys()], ['embedded/bbt3.jpg']);
        assert.ok(faces.get('embedded/bbt3.jpg')! >= REGION_FACE_IOU);
      }
      assert.deepEqual([...facesOf(store, 'Dr. Sheldon Cooper', BBT3.Sheldon!).keys()], ['embedded/bbt3.jpg'], 'the sidecar wins');
      for (const name of ['Sheldon', 'Penny', 'Kaley Cuoco', 'Unknown']) assert.equal(store.people.findByName(name), undefined, `no person ${name}`);
      // A named region with no detected face under it is a face of its own, as the other tool's user drew it.
      const nobody = facesOf(store, 'Nobody Here', NOBODY);
      assert.deepEqual([...nobody], [['sidecar/two_people.jpg', 1]]);
      const made = store.people.facesOf(store.people.findByName('Nobody Here')!.id).map((f) => store.faces.get(f.faceId)!.origin);
      assert.deepEqual(made, ['imported']);
      const detail = store.db.prepare<[], { detail: string }>(`SELECT detail FROM face_regions WHERE name = 'Nobody Here'`).get()!.detail;
      assert.equal(detail, 'no face was detected here; the face is the region as drawn');
    } finally {
      store.close();
    }
  }

  it('names the faces the regions lie on, as confirmed people that a full re-cluster keeps', async (t) => {
    checkPeople(t);
    const r = await runCli(['cluster', '--full', '--db', db, '--device', 'cpu']);
    assert.equal(r.code, 0, r.stderr);
    checkPeople(t);
    const store = new Store(db);
    try {
      const labels = store.db.prepare<[], { label: string }>(`SELECT label FROM operations`).all().map((o) => o.label);
      assert.ok(labels.some((l) => l.includes("from the photo's metadata")), `imports are journaled like the user's own naming: ${labels.join('; ')}`);
    } finally {
      store.close();
    }
  });

  it('kith stats counts imported, matched and unmatched regions; kith errors lists two names on one face', async () => {
    const stats = await runCli(['stats', '--db', db, '--json']);
    assert.equal(stats.code, 0, stats.stderr);
    // two_people: Obama, Biden, Nobody Here; bbt3: Dr. Sheldon Cooper, Howard, Penny, Kaley, Raj, Leonard; rotated: 2.
    assert.deepEqual(JSON.parse(stats.stdout).importedNames, { regions: 11, named: 9, unmatched: 0, conflict: 2, kept: 0 });
    const text = await runCli(['stats', '--db', db]);
    assert.match(text.stdout, /11 named face regions imported from photo metadata: 9 matched a face, 0 unmatched, 2 conflicting/);
    const errors = await runCli(['errors', '--db', db]);
    assert.match(errors.stdout, /embedded\/bbt3\.jpg\n {2}photo metadata: two names on one face: (Penny, Kaley Cuoco|Kaley Cuoco, Penny)/);
  });

  it('a changed sidecar is read again, and never overrides what the user decided in Kith', async () => {
    let store = new Store(db);
    let pennyFace: number;
    try {
      pennyFace = store.db.prepare<[], { faceId: number }>(`SELECT face_id AS faceId FROM face_regions WHERE name = 'Penny'`).get()!.faceId;
      assert.equal(store.people.assignmentOf(pennyFace)?.source, 'cluster', 'Penny is in a person the clustering made');
      const sheldon = store.people.findByName('Dr. Sheldon Cooper')!;
      const face = store.people.facesOf(sheldon.id)[0]!.faceId;
      new PeopleService(store).moveFaces([face], { newPersonName: 'Jim Parsons' });
    } finally {
      store.close();
    }
    exiftool(['-overwrite_original', mwg([['Dr. Sheldon Cooper', BBT3.Sheldon!], ['Penny', BBT3.Penny!]]), bbtSidecar]);
    const later = new Date(Date.now() + 5000);
    utimesSync(bbtSidecar, later, later);
    const r = await runCli(['index', lib, '--db', db, '--device', 'cpu']);
    assert.equal(r.code, 0, r.stderr);
    store = new Store(db);
    try {
      const jim = store.people.findByName('Jim Parsons')!;
      assert.deepEqual([...facesOf(store, 'Jim Parsons', BBT3.Sheldon!).keys()], ['embedded/bbt3.jpg'], 'the user moved this face; the import leaves it');
      assert.equal(store.people.facesOf(jim.id).length, 1);
      // The sidecar now names Penny, and a sidecar wins over the photo's own two names.
      assert.deepEqual([...facesOf(store, 'Penny', BBT3.Penny!).keys()], ['embedded/bbt3.jpg']);
      // Naming a face the clustering had placed is not the user pulling it out of that group:
      // nothing keeps it apart from the faces it was with, so they can still join her.
      const rejects = store.db.prepare<[number], { n: number }>(`SELECT COUNT(*) AS n FROM face_decisions WHERE face_id = ? AND kind = 'reject'`).get(pennyFace)!;
      const apart = store.db.prepare<[number, number], { n: number }>(`SELECT COUNT(*) AS n FROM face_apart WHERE face_a = ? OR face_b = ?`).get(pennyFace, pennyFace)!;
      assert.deepEqual([rejects.n, apart.n], [0, 0]);
    } finally {
      store.close();
    }
    const stats = JSON.parse((await runCli(['stats', '--db', db, '--json'])).stdout);
    assert.equal(stats.importedNames.kept, 1);
    assert.equal(stats.importedNames.conflict, 0);
  });
});

/** digiKam writes regions as attributes; Windows Live Photo Gallery writes MP regions beside them. */
const DIGIKAM_XMP = `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
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
    <mwg-rs:AppliedToDimensions stDim:w="4000" stDim:h="3000" stDim:unit="pixel"/>
    <mwg-rs:RegionList>
     <rdf:Bag>
      <rdf:li><rdf:Description mwg-rs:Name="Anna  Smith" mwg-rs:Type="Face">
        <mwg-rs:Area stArea:x="0.5" stArea:y="0.4" stArea:w="0.1" stArea:h="0.2" stArea:unit="normalized"/>
      </rdf:Description></rdf:li>
      <rdf:li><rdf:Description mwg-rs:Name="Ignored" mwg-rs:Type="Face">
        <mwg-rs:Area stArea:x="0.2" stArea:y="0.4" stArea:w="0.1" stArea:h="0.2" stArea:unit="normalized"/>
      </rdf:Description></rdf:li>
      <rdf:li><rdf:Description mwg-rs:Name=" " mwg-rs:Type="Face">
        <mwg-rs:Area stArea:x="0.3" stArea:y="0.4" stArea:w="0.1" stArea:h="0.2" stArea:unit="normalized"/>
      </rdf:Description></rdf:li>
      <rdf:li><rdf:Description mwg-rs:Name="Rex" mwg-rs:Type="Pet">
        <mwg-rs:Area stArea:x="0.8" stArea:y="0.4" stArea:w="0.1" stArea:h="0.2" stArea:unit="normalized"/>
      </rdf:Description></rdf:li>
      <rdf:li><rdf:Description mwg-rs:Name="Carl" mwg-rs:Type="Face">
        <mwg-rs:Area stArea:x="2000" stArea:y="1500" stArea:w="400" stArea:h="300" stArea:unit="pixel"/>
      </rdf:Description></rdf:li>
     </rdf:Bag>
    </mwg-rs:RegionList>
   </mwg-rs:Regions>
   <MP:RegionInfo rdf:parseType="Resource">
    <MPRI:Regions><rdf:Bag>
     <rdf:li MPReg:PersonDisplayName="Bob" MPReg:Rectangle="0.1, 0.2, 0.05, 0.1"/>
    </rdf:Bag></MPRI:Regions>
   </MP:RegionInfo>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>`;

describe('reading XMP face regions', () => {
  it('reads MWG (centre, normalised or pixels) and MP (top-left) regions, and skips pseudo-names, empty names and non-faces', async () => {
    const round = (b: NormBox) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
    const regions = (await regionsInXmp(DIGIKAM_XMP)).map((r) => ({ name: r.name, box: round(r.box) }));
    assert.deepEqual(regions, [
      { name: 'Anna Smith', box: { x1: 0.45, y1: 0.3, x2: 0.55, y2: 0.5 } },
      { name: 'Carl', box: { x1: 0.45, y1: 0.45, x2: 0.55, y2: 0.55 } },
      { name: 'Bob', box: { x1: 0.1, y1: 0.2, x2: 0.15, y2: 0.3 } },
    ]);
  });

  it('turns a box in the stored pixels upright exactly as libvips turns the photo, for all eight EXIF orientations', async () => {
    // A white block off-centre in a 120×80 stored image; where is it once the photo is upright?
    const [W, H, S] = [120, 80, { x1: 10, y1: 20, x2: 40, y2: 35 }];
    const raw = Buffer.alloc(W * H, 0);
    for (let y = S.y1; y < S.y2; y++) raw.fill(255, y * W + S.x1, y * W + S.x2);
    const whiteBox = (px: Buffer, w: number, h: number): NormBox => {
      let [x1, y1, x2, y2] = [w, h, 0, 0];
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          if (px[y * w + x]! > 127) [x1, y1, x2, y2] = [Math.min(x1, x), Math.min(y1, y), Math.max(x2, x + 1), Math.max(y2, y + 1)];
      return { x1: x1 / w, y1: y1 / h, x2: x2 / w, y2: y2 / h };
    };
    for (let orientation = 1; orientation <= 8; orientation++) {
      const png = await sharp(raw, { raw: { width: W, height: H, channels: 1 } }).withMetadata({ orientation }).png().toBuffer();
      const upright = await sharp(png).rotate().extractChannel(0).raw().toBuffer({ resolveWithObject: true });
      const want = whiteBox(upright.data, upright.info.width, upright.info.height);
      const got = uprightBox({ x1: S.x1 / W, y1: S.y1 / H, x2: S.x2 / W, y2: S.y2 / H }, orientation);
      for (const k of ['x1', 'y1', 'x2', 'y2'] as const) assert.ok(Math.abs(got[k] - want[k]) < 1e-9, `orientation ${orientation}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
    }
  });
});

/**
 * @file Names Picasa kept in `.picasa.ini` / `Picasa.ini` become Kith people when indexing: real
 * group photos (who is where, left to right, from groups.csv), their faces boxed as Picasa's
 * rect64 at test time from a first index, named through a `contacts.xml` two folders up in one
 * folder and through the ini's own `[Contacts2]` in another, including a copy stored sideways
 * (EXIF orientation 6); an unreadable box and an unknown contact are reported, not fatal; an XMP
 * sidecar wins over Picasa. Nothing binary is committed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { iou } from '../native/common/geometry.ts';
import { parseContactsXml, parseIni, parseRect64 } from '../native/metadata/picasa.ts';
import type { NormBox } from '../native/metadata/xmp-regions.ts';
import { Store } from '../native/store/index.ts';
import { FACES, runCli, tempDir } from './helpers.ts';

const skip = spawnSync('exiftool', ['-ver']).status === 0 ? false : 'exiftool is not installed (Debian: apt install libimage-exiftool-perl); CI installs it';

/** Who is in a group photo, left to right, as groups.csv says. */
function peopleLeftToRight(photo: string): string[] {
  const line = readFileSync(join(FACES, 'groups', 'groups.csv'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${photo},`));
  assert.ok(line, `${photo} in groups.csv`);
  const known = /"([^"]*)"/.exec(line)![1]!;
  assert.match(known, /left to right/);
  return known
    .replace(/\(.*\)/, '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Picasa's contacts: a 64-bit hex id per person. */
const CONTACT: Record<string, string> = {
  sheldon: '1a2b3c4d5e6f7081',
  leonard: '2b3c4d5e6f708192',
  howard: '3c4d5e6f708192a3',
  raj: '4d5e6f708192a3b4',
  penny: '5e6f708192a3b4c5',
};
const FULL_NAME: Record<string, string> = {
  sheldon: 'Sheldon Cooper',
  leonard: 'Leonard Hofstadter',
  howard: 'Howard Wolowitz',
  raj: 'Raj Koothrappali',
  penny: 'Penny',
};
/** A contact no contacts file knows. */
const STRANGER = '0123456789abcdef';

/** Picasa's box: four 16-bit fractions in one hex number, leading zeros dropped as Picasa writes them. */
function rect64(b: NormBox): string {
  const hex = [b.x1, b.y1, b.x2, b.y2].map((v) => Math.round(v * 65535).toString(16).padStart(4, '0')).join('');
  return `rect64(${hex.replace(/^0+(?=.)/, '')})`;
}

/** A head box as Picasa draws it: the face's box, a little larger. */
function headBox(b: NormBox): NormBox {
  const [dw, dh] = [(b.x2 - b.x1) * 0.1, (b.y2 - b.y1) * 0.1];
  return { x1: Math.max(0, b.x1 - dw), y1: Math.max(0, b.y1 - dh), x2: Math.min(1, b.x2 + dw), y2: Math.min(1, b.y2 + dh) };
}

/** The box in a photo stored turned 90° anticlockwise (EXIF orientation 6 turns it back). */
function storedForOrientation6(u: NormBox): NormBox {
  return { x1: u.y1, y1: 1 - u.x2, x2: u.y2, y2: 1 - u.x1 };
}

function exiftool(args: string[]): void {
  const r = spawnSync('exiftool', ['-q', '-q', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `exiftool ${args.join(' ')}: ${r.stderr}`);
}

interface DetectedFace {
  id: number;
  box: NormBox;
}

describe('names from Picasa', { skip }, () => {
  const dir = tempDir('kith-picasa-');
  const lib = join(dir, 'photos');
  const db = join(dir, 'library.db');
  const xmlFolder = join(lib, '2011', 'party');
  const iniFolder = join(lib, '2012', 'old-picasa');
  /** photo (relative to lib) → character → the face Kith detected there, before any ini existed. */
  const target = new Map<string, Map<string, DetectedFace>>();

  /** Faces of a photo left to right, upright boxes normalised. */
  function facesLeftToRight(store: Store, rel: string): DetectedFace[] {
    const photo = store.photos.get(join(lib, rel));
    assert.ok(photo, `${rel} is indexed`);
    return store.faces
      .forPhoto(photo.id)
      .map((f) => ({ id: f.id, box: { x1: f.box.x1 / photo.width!, y1: f.box.y1 / photo.height!, x2: f.box.x2 / photo.width!, y2: f.box.y2 / photo.height! } }))
      .sort((a, b) => a.box.x1 - b.box.x1);
  }

  before(async () => {
    for (const [folder, names] of [
      [xmlFolder, ['bbt1.jpg', 'bbt3.jpg']],
      [iniFolder, ['bbt5.jpg']],
    ] as const) {
      mkdirSync(folder, { recursive: true });
      for (const n of names) cpSync(join(FACES, 'groups', 'faceapi', n), join(folder, n));
    }
    // A phone photo: the pixels of bbt3 stored sideways with orientation 6; Picasa's boxes are in the stored pixels.
    await sharp(join(FACES, 'groups/faceapi/bbt3.jpg')).rotate(270).withMetadata({ orientation: 6 }).jpeg({ quality: 92 }).toFile(join(iniFolder, 'bbt3_phone.jpg'));

    // A first index, with no Picasa files yet: where the detector finds each person's face.
    assert.equal((await runCli(['index', lib, '--db', db, '--device', 'cpu'])).code, 0);
    const store = new Store(db);
    try {
      for (const [rel, photo] of [
        ['2011/party/bbt1.jpg', 'faceapi/bbt1.jpg'],
        ['2011/party/bbt3.jpg', 'faceapi/bbt3.jpg'],
        ['2012/old-picasa/bbt5.jpg', 'faceapi/bbt5.jpg'],
      ] as const) {
        const people = peopleLeftToRight(photo);
        const faces = facesLeftToRight(store, rel);
        assert.equal(faces.length, people.length, `${rel}: one detected face per person`);
        target.set(rel, new Map(people.map((p, i) => [p, faces[i]!])));
      }
    } finally {
      store.close();
    }

    const bbt1 = target.get('2011/party/bbt1.jpg')!;
    const bbt3 = target.get('2011/party/bbt3.jpg')!;
    const bbt5 = target.get('2012/old-picasa/bbt5.jpg')!;
    const faces = (who: Map<string, DetectedFace>, turn: (b: NormBox) => NormBox = (b) => b) =>
      [...who].map(([p, f]) => `${rect64(turn(headBox(f.box)))},${CONTACT[p]}`);

    // Picasa 3: a hidden .picasa.ini; the names are in contacts.xml, two folders up.
    writeFileSync(
      join(xmlFolder, '.picasa.ini'),
      [
        '[Picasa]',
        'name=party',
        '[bbt1.jpg]',
        `faces=${faces(bbt1).join(';')}`,
        'backuphash=12345',
        '[bbt3.jpg]',
        // An unreadable box, a contact nobody named, and a face Picasa found but no one named.
        `faces=${[...faces(bbt3), `rect64(zz0012),${CONTACT.howard}`, `${rect64({ x1: 0.45, y1: 0.6, x2: 0.55, y2: 0.8 })},${STRANGER}`, `${rect64({ x1: 0.45, y1: 0.1, x2: 0.5, y2: 0.2 })},ffffffffffffffff`].join(';')}`,
        'star=yes',
        '',
      ].join('\r\n'),
    );
    const contacts = Object.entries(CONTACT).map(([p, id]) => `<contact id="${id}" name="${FULL_NAME[p]}" display="${p}" modified_time="2011-03-18T13:34:08+00:00" local_contact="1"/>`);
    writeFileSync(join(lib, 'contacts.xml'), `<?xml version="1.0" encoding="utf-8"?>\n<contacts>\n${contacts.join('\n')}\n</contacts>\n`);

    // Picasa 2: Picasa.ini, its contacts in [Contacts2] under other ids (names in lower case:
    // names match case-insensitively, so they are the same people).
    const old = (p: string) => `${CONTACT[p]!.slice(8)}${CONTACT[p]!.slice(0, 8)}`;
    const oldFaces = (who: Map<string, DetectedFace>, turn?: (b: NormBox) => NormBox) => faces(who, turn).map((e) => e.replace(/,(\w+)$/, (_, id: string) => `,${old(Object.keys(CONTACT).find((p) => CONTACT[p] === id)!)}`));
    writeFileSync(
      join(iniFolder, 'Picasa.ini'),
      [
        '[bbt5.jpg]',
        `faces=${oldFaces(bbt5).join(';')}`,
        // Picasa keeps the boxes of the photo as stored: the sideways copy's boxes are turned with it.
        '[bbt3_phone.jpg]',
        `faces=${oldFaces(bbt3, storedForOrientation6).join(';')}`,
        '[Contacts2]',
        ...Object.keys(CONTACT).map((p) => `${old(p)}=${FULL_NAME[p]!.toLowerCase()};;`),
        '',
      ].join('\n'),
    );

    // digiKam's sidecar on bbt1 names Sheldon otherwise; the sidecar wins.
    const s = headBox(bbt1.get('sheldon')!.box);
    const [w, h] = [s.x2 - s.x1, s.y2 - s.y1];
    exiftool(['-o', join(xmlFolder, 'bbt1.jpg.xmp'), `-XMP-mwg-rs:RegionInfo={RegionList=[{Area={X=${s.x1 + w / 2},Y=${s.y1 + h / 2},W=${w},H=${h},Unit=normalized},Name=Dr. Sheldon Cooper,Type=Face}]}`, join(xmlFolder, 'bbt1.jpg')]);

    // The photos did not change: only the Picasa files (and the sidecar) are new, and they are read.
    const r = await runCli(['index', lib, '--db', db, '--device', 'cpu']);
    assert.equal(r.code, 0, r.stderr);
  });

  /** The photos, relative to the library, where `name` has a face the user (here: Picasa) vouched for, with the face ids. */
  function confirmedFaces(store: Store, name: string): Map<string, number> {
    const person = store.people.findByName(name);
    assert.ok(person, `${name} is a person`);
    const out = new Map<string, number>();
    for (const { faceId, source } of store.people.facesOf(person.id)) {
      if (source !== 'user') continue;
      out.set(store.photos.getById(store.faces.get(faceId)!.photoId)!.path.slice(lib.length + 1), faceId);
    }
    return out;
  }

  it('names each face Picasa named, in both ini generations, on the right face, the sideways copy too; an XMP sidecar wins', async (t) => {
    const store = new Store(db);
    try {
      const sideways = facesLeftToRight(store, '2012/old-picasa/bbt3_phone.jpg');
      for (const p of Object.keys(CONTACT)) {
        const faces = confirmedFaces(store, FULL_NAME[p]!);
        t.diagnostic(`${FULL_NAME[p]}: ${JSON.stringify([...faces])}`);
        const want = [...target]
          .filter(([rel, who]) => who.has(p) && !(rel === '2011/party/bbt1.jpg' && p === 'sheldon'))
          .map(([rel, who]) => [rel, who.get(p)!.id] as const);
        for (const [rel, faceId] of want) assert.equal(faces.get(rel), faceId, `${FULL_NAME[p]} is named on their own face in ${rel}`);
        // The sideways copy, upright, shows bbt3 as it is: the named face lies where the person is in bbt3.
        const turned = faces.get('2012/old-picasa/bbt3_phone.jpg');
        if (target.get('2011/party/bbt3.jpg')!.has(p)) {
          const face = sideways.find((f) => f.id === turned);
          assert.ok(face, `${FULL_NAME[p]} is named in the sideways copy`);
          const overlap = iou(face.box, target.get('2011/party/bbt3.jpg')!.get(p)!.box);
          assert.ok(overlap > 0.5, `${FULL_NAME[p]}'s face in the sideways copy is where they are in bbt3 (IoU ${overlap.toFixed(2)})`);
        }
        assert.equal(faces.size, want.length + (turned === undefined ? 0 : 1), `${FULL_NAME[p]} has no other confirmed faces`);
      }
      assert.deepEqual([...confirmedFaces(store, 'Dr. Sheldon Cooper')], [['2011/party/bbt1.jpg', target.get('2011/party/bbt1.jpg')!.get('sheldon')!.id]]);
      const sources = store.db.prepare<[], { source: string; n: number }>(`SELECT source, COUNT(*) AS n FROM face_regions GROUP BY source ORDER BY source`).all();
      assert.deepEqual(sources, [
        { source: 'picasa', n: 20 },
        { source: 'sidecar', n: 1 },
      ]);
    } finally {
      store.close();
    }
  });

  it('reports an unreadable box and an unknown contact in kith errors and kith stats, and goes on', async () => {
    const stats = await runCli(['stats', '--db', db, '--json']);
    assert.equal(stats.code, 0, stats.stderr);
    // bbt1: 1 sidecar + 3 Picasa; bbt3: 5 + 2 skipped; bbt5: 5; the sideways copy: 5.
    assert.deepEqual(JSON.parse(stats.stdout).importedNames, { regions: 21, named: 19, unmatched: 2, conflict: 0, kept: 0 });
    const errors = await runCli(['errors', '--db', db]);
    assert.equal(errors.code, 0, errors.stderr);
    assert.match(errors.stdout, /2011\/party\/bbt3\.jpg\n {2}photo metadata: skipped Picasa face rect64\(zz0012\),3c4d5e6f708192a3 \(\.picasa\.ini\): not a rect64 box; skipped Picasa face rect64\(\w+\),0123456789abcdef \(\.picasa\.ini\): contact 0123456789abcdef has no name/);
    assert.doesNotMatch(errors.stdout, /ffffffffffffffff/, "a face Picasa found but nobody named is not an error");
  });

  it('reads a folder again when its ini changes, and not otherwise', async () => {
    const again = await runCli(['index', lib, '--db', db, '--device', 'cpu']);
    assert.doesNotMatch(again.stdout + again.stderr, /named face regions from photo metadata/, 'nothing changed: nothing read again');
    const ini = join(iniFolder, 'Picasa.ini');
    writeFileSync(ini, readFileSync(ini, 'utf8').replace(/^\[bbt5\.jpg\]\nfaces=[^\n]*\n/m, ''));
    const r = await runCli(['index', lib, '--db', db, '--device', 'cpu']);
    assert.match(r.stdout + r.stderr, /read 5 named face regions from photo metadata/, 'only the sideways copy still has Picasa faces');
  });
});

describe('reading Picasa files', () => {
  it('rect64: four 16-bit fractions, left, top, right, bottom; leading zeros may be dropped; anything else is not a box', () => {
    const round = (b: NormBox | null) => b && Object.values(b).map((v) => Math.round(v * 1e4) / 1e4);
    assert.deepEqual(round(parseRect64('rect64(3f845bcb59418507)')), [0x3f84 / 65535, 0x5bcb / 65535, 0x5941 / 65535, 0x8507 / 65535].map((v) => Math.round(v * 1e4) / 1e4));
    assert.deepEqual(round(parseRect64('rect64(5bcb59418507)')), [0, 0x5bcb / 65535, 0x5941 / 65535, 0x8507 / 65535].map((v) => Math.round(v * 1e4) / 1e4));
    for (const bad of ['rect64(zz0012)', 'rect64()', 'rect64(3f845bcb594185071)', 'rect(3f845bcb59418507)', 'rect64(8507594100005bcb)']) assert.equal(parseRect64(bad), null, bad);
  });

  it('ini: sections and keys, values keep their semicolons; contacts.xml: ids, names and XML entities', () => {
    const ini = parseIni('\uFEFF[a.jpg]\r\nfaces=rect64(1),ab;rect64(2),cd\r\n; a comment\r\n[Contacts2]\r\nAB=Anna Smith;;\r\n');
    assert.equal(ini.get('a.jpg')?.get('faces'), 'rect64(1),ab;rect64(2),cd');
    assert.equal(ini.get('Contacts2')?.get('ab'), 'Anna Smith;;');
    const xml = parseContactsXml(`<contacts><contact id="AB12" name="Tom &amp; Jerry &#233;" display="T"/><contact id='cd' display='Only Display'><email/></contact></contacts>`);
    assert.deepEqual([...xml], [
      ['ab12', 'Tom & Jerry é'],
      ['cd', 'Only Display'],
    ]);
  });
});

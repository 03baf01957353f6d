/**
 * Detection on real photos: every tight portrait has exactly one face, group photos have the
 * number of faces their labels give, and EXIF-rotated copies give the same faces.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { decodePhoto } from '../native/pipeline/decode.ts';
import { detectFaces, loadDetector, type Detection } from '../native/pipeline/detect.ts';
import type { LoadedSession } from '../native/pipeline/runtime.ts';
import { FACES, facesIn } from './helpers.ts';

let detector: LoadedSession;
before(async () => {
  detector = await loadDetector('cpu');
});

async function detectFile(path: string): Promise<Detection[]> {
  return detectFaces(detector, await decodePhoto(readFileSync(path)));
}

/** The range of face counts a groups.csv `faces` cell allows. */
function allowedCounts(cell: string): { min: number; max: number; why: string } {
  let m = /^(\d+) main \+ ~(\d+) partial/.exec(cell);
  if (m) return { min: +m[1]!, max: +m[1]! + +m[2]!, why: 'main faces plus up to the partial ones' };
  m = /^(\d+) main \(\+ small background/.exec(cell);
  if (m) return { min: +m[1]!, max: +m[1]! + 3, why: 'main faces plus a few small background ones' };
  m = /^>=(\d+)/.exec(cell);
  if (m) return { min: +m[1]! - 1, max: Infinity, why: 'at least N; one cut-off partial face may be missed' };
  m = /^(\d+)$/.exec(cell);
  if (m) return { min: +m[1]! - 1, max: +m[1]! + 1, why: 'visual count ±1' };
  throw new Error(`unreadable faces cell "${cell}"`);
}

function parseCsv(text: string): Record<string, string>[] {
  const rows = text.trim().split('\n').map((line) => {
    const cells: string[] = [];
    let cur = '';
    let quoted = false;
    for (const ch of line) {
      if (ch === '"') quoted = !quoted;
      else if (ch === ',' && !quoted) {
        cells.push(cur);
        cur = '';
      } else cur += ch;
    }
    cells.push(cur);
    return cells;
  });
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head!.map((h, i) => [h, r[i] ?? ''])));
}

describe('face detection', () => {
  it('finds exactly one face in every faceapi-bbt portrait', async () => {
    const portraits = facesIn('portraits/faceapi-bbt');
    assert.equal(portraits.length, 40);
    for (const rel of portraits) {
      const faces = await detectFile(join(FACES, rel));
      assert.equal(faces.length, 1, `${rel}: ${faces.length} faces`);
      const f = faces[0]!;
      assert.ok(f.score > 0.9, `${rel}: score ${f.score}`);
      assert.ok(f.x2 - f.x1 > 60, `${rel}: face is ${f.x2 - f.x1}px wide in a 150px crop`);
    }
  });

  it('finds the labelled number of faces in the group photos', async () => {
    const rows = parseCsv(readFileSync(join(FACES, 'groups', 'groups.csv'), 'utf8'));
    assert.ok(rows.length >= 20);
    let totalFound = 0;
    let totalExpected = 0;
    const misses: string[] = [];
    for (const row of rows) {
      const faces = await detectFile(join(FACES, 'groups', row.path!));
      const allowed = allowedCounts(row.faces!);
      const n = faces.length;
      if (n < allowed.min || n > allowed.max) misses.push(`${row.path}: found ${n}, label "${row.faces}"`);
      totalFound += Math.min(n, allowed.max);
      totalExpected += parseInt(row.faces!.replace(/^>=/, ''), 10);
    }
    assert.deepEqual(misses, []);
    // Across the set, recall of the labelled main faces stays high (not just per photo within tolerance).
    assert.ok(totalFound / totalExpected >= 0.95, `found ${totalFound} of ${totalExpected} labelled faces`);
  });

  it('gives the same faces for EXIF-rotated and mirrored copies', async () => {
    const original = readFileSync(join(FACES, 'groups', 'faceapi', 'bbt4.jpg'));
    const upright = await detectFaces(detector, await decodePhoto(original));
    assert.ok(upright.length >= 5);
    // Pixels stored turned, with the EXIF tag that turns them back for display.
    const variants: Array<[number, (s: Sharp) => Sharp]> = [
      [3, (s) => s.rotate(180)],
      [6, (s) => s.rotate(-90)],
      [8, (s) => s.rotate(90)],
      [2, (s) => s.flop()],
    ];
    for (const [orientation, turn] of variants) {
      const stored = await turn(sharp(original)).jpeg({ quality: 95 }).withMetadata({ orientation }).toBuffer();
      const decoded = await decodePhoto(stored);
      const faces = await detectFaces(detector, decoded);
      assert.equal(faces.length, upright.length, `orientation ${orientation}`);
      for (const f of upright) {
        const twin = faces.find((g) => Math.hypot(g.x1 - f.x1, g.y1 - f.y1) < 6 && Math.hypot(g.x2 - f.x2, g.y2 - f.y2) < 6);
        assert.ok(twin, `orientation ${orientation}: no face near (${f.x1.toFixed(0)},${f.y1.toFixed(0)})`);
      }
    }
  });
});

/**
 * @file A person's default cover is their clearest face: Leonard's five portraits plus a large,
 * dark, blurred enlargement of one of them (the biggest face, and so the old choice) are
 * indexed; the cover is a sharp frontal portrait, not the blur, and the person's page lists
 * the faces best first by the same ranking (the cover first, the blur after the clear ones).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { KithEngine } from '../native/api/api.ts';
import { Store } from '../native/store/index.ts';
import { BBT, copyFaces, facesIn, tempDir } from './helpers.ts';

describe('cover faces', () => {
  it('shows the sharpest large frontal face, not a bigger dark blur', async () => {
    const dir = tempDir();
    const library = join(dir, 'Photos');
    copyFaces(library, facesIn('portraits/faceapi-bbt/leonard'));
    mkdirSync(join(library, 'edits'), { recursive: true });
    const blurPath = join(library, 'edits', 'leonard-blurred.jpg');
    await sharp(join(BBT, 'leonard', 'leonard2.png')).resize(600, 600).blur(14).modulate({ brightness: 0.45 }).jpeg().toFile(blurPath);
    const store = new Store(join(dir, 'library.db'));
    const engine = new KithEngine(store, { device: 'cpu' });
    const api = engine.client();
    await api.startIndex(library);
    await engine.idle();

    const [person] = await api.people();
    assert.ok(person, 'Leonard was found');
    const faces = store.people.facesOf(person.id).map((f) => store.faces.get(f.faceId)!);
    const blurred = faces.find((f) => store.views.photoOfFace(f.id)!.path === blurPath);
    assert.ok(blurred, 'the blurred enlargement is one of his faces');
    const oldChoice = [...faces].sort((a, b) => b.score * Math.min(b.size, 160) - a.score * Math.min(a.size, 160))[0]!;
    assert.equal(oldChoice.id, blurred.id, 'ranking by detector score × size alone picks the blur');

    const cover = store.faces.get(person.coverFaceId!)!;
    assert.notEqual(cover.id, blurred.id, 'the cover is not the blur');
    assert.ok(cover.sharpness > 3 * blurred.sharpness, `cover sharpness ${cover.sharpness} vs blur ${blurred.sharpness}`);
    const clear = faces.filter((f) => f.id !== blurred.id);
    const mostFrontal = Math.min(...clear.map((f) => Math.abs(f.yaw)));
    assert.ok(Math.abs(cover.yaw) <= mostFrontal + 5, `of the sharp portraits, a frontal one (yaw ${cover.yaw}; ${clear.map((f) => f.yaw.toFixed(0)).join(', ')})`);

    const listed = (await api.person(person.id, 0, 100)).faces.map((f) => f.id);
    assert.equal(listed.length, faces.length);
    assert.equal(listed[0], cover.id, "the person's faces start with the cover");
    assert.equal(listed.at(-1), blurred.id, 'and end with the blur');
    store.close();
  });
});

/**
 * @file "Draw a face" in a real browser: on a photo where Kith found no face (a small face in a
 * large photo, drawn-face-fixture.ts), the user drags a box around it in the photo viewer,
 * picks Leonard with the person picker, and the face appears named; Undo takes it away again.
 * The real `kith serve` and Debian's Chromium.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { KithEngine } from '../native/api/api.ts';
import { Store } from '../native/store/index.ts';
import { NO_BROWSER, apiOf, ensureRendererBuilt, launch, serve, shot, waitCount, waitText, type Server } from './browser.ts';
import { CANVAS, drawnBox, makeCrowdPhoto } from './drawn-face-fixture.ts';
import { copyFaces, tempDir } from './helpers.ts';

describe('drawing a face Kith missed', { skip: NO_BROWSER }, () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  let crowdId: number;
  const api = apiOf(() => server);

  before(async () => {
    const dir = tempDir('kith-draw-ui-');
    const library = join(dir, 'Photos');
    copyFaces(library, ['portraits/faceapi-bbt/leonard/leonard2.png', 'portraits/faceapi-bbt/leonard/leonard3.png']);
    mkdirSync(join(library, 'crowd'), { recursive: true });
    await makeCrowdPhoto(join(library, 'crowd', 'street.jpg'));
    const db = join(dir, 'library.db');
    const store = new Store(db);
    const engine = new KithEngine(store, { device: 'cpu' });
    await engine.client().startIndex(library);
    await engine.idle();
    crowdId = store.photos.get(join(library, 'crowd', 'street.jpg'))!.id;
    const leonard2 = store.photos.get(join(library, 'portraits', 'faceapi-bbt', 'leonard', 'leonard2.png'))!.id;
    await engine.client().moveFaces([store.faces.forPhoto(leonard2)[0]!.id], null, 'Leonard');
    store.close();

    ensureRendererBuilt();
    server = await serve(db);
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${server.url}#/photo/${crowdId}`);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('drags a box around the face, names it Leonard, and Undo removes it', async () => {
    await page.getByTestId('photo-viewer').waitFor();
    await waitCount(page.getByTestId('face-box'), 0);
    await page.getByTestId('draw-face').click();
    const canvas = page.getByTestId('draw-face-canvas');
    await canvas.waitFor();
    const shown = (await canvas.boundingBox())!;
    const box = await drawnBox();
    const x = (v: number) => shown.x + (v / CANVAS.width) * shown.width;
    const y = (v: number) => shown.y + (v / CANVAS.height) * shown.height;
    await page.mouse.move(x(box.x1), y(box.y1));
    await page.mouse.down();
    await page.mouse.move((x(box.x1) + x(box.x2)) / 2, (y(box.y1) + y(box.y2)) / 2, { steps: 3 });
    await page.mouse.move(x(box.x2), y(box.y2), { steps: 3 });
    await page.mouse.up();

    const who = page.getByTestId('draw-face-who');
    await who.getByRole('combobox').fill('Leon');
    await shot(page, 'draw-face');
    await who.getByRole('combobox').press('Enter');
    await waitText(page.getByTestId('toast-message').last(), 'Drew a face of Leonard', 60_000);
    await waitCount(page.getByTestId('face-box'), 1);
    await waitText(page.getByTestId('face-label').first(), 'Leonard');
    const photo = await api('photo', crowdId);
    assert.equal(photo.faces.length, 1);
    const f = photo.faces[0]!.box;
    // The box the user dragged, in the original photo's pixels (within a few screen pixels).
    const tolerance = (3 * CANVAS.width) / shown.width;
    for (const k of ['x1', 'y1', 'x2', 'y2'] as const) assert.ok(Math.abs(f[k] - box[k]) <= tolerance, `${k}: ${f[k]} vs ${box[k]}`);
    assert.equal(photo.faces[0]!.personName, 'Leonard');
    assert.equal(photo.faces[0]!.state, 'confirmed');

    await page.getByTestId('toast-action').last().click();
    await waitText(page.getByTestId('toast-message').last(), 'Undid: Drew a face of Leonard');
    await waitCount(page.getByTestId('face-box'), 0);
    assert.equal((await api('photo', crowdId)).faces.length, 0);
  });
});

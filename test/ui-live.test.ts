/**
 * An open page stays live without a reload: a photo of Leonard copied into the library folder
 * while `kith serve` runs shows up on his page (one face more), and a name given with `kith
 * name` from another process appears in the People grid. Real portraits, real models, the real
 * server, real Chromium.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { NO_BROWSER, apiOf, ensureRendererBuilt, launch, serve, waitCount, waitText, type Server } from './browser.ts';
import { BBT, runCli, tempDir } from './helpers.ts';
import { indexedFixtureCopy, type IndexedCopy } from './indexed-fixture.ts';

describe('an open page follows the library as it changes', { skip: NO_BROWSER }, () => {
  let copy: IndexedCopy;
  let server: Server;
  let browser: Browser;
  let page: Page;
  const api = apiOf(() => server);
  /** The person most of a character's portraits are in. */
  const personOf = async (who: string) => {
    const votes = new Map<number, number>();
    for (const f of await api('exportFaces')) if (f.photo.includes(`/${who}/`) && f.personId !== null) votes.set(f.personId, (votes.get(f.personId) ?? 0) + 1);
    return [...votes].sort((a, b) => b[1] - a[1])[0]![0];
  };

  before(async () => {
    ensureRendererBuilt();
    copy = await indexedFixtureCopy('bbt');
    server = await serve(copy.db);
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.goto(server.url);
    // The server watches once its snapshot of the folder is written: the first photo after that is seen.
    await waitText(page.getByTestId('people-page').or(page.getByTestId('library-page')).first(), /./, 30_000);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('shows a photo copied into the folder on its person\'s page, with no reload', async () => {
    const leonard = await personOf('leonard');
    await api('renamePerson', leonard, 'Leonard');
    await page.evaluate((h) => ((globalThis as unknown as { location: { hash: string } }).location.hash = h), `#/person/${leonard}`);
    await waitText(page.getByTestId('person-name'), 'Leonard');
    const before = await waitText(page.getByTestId('person-counts'), /^\d+ faces/);
    const faces = Number(/^(\d+)/.exec(before)![1]);
    await page.evaluate(() => ((globalThis as unknown as { stayed: boolean }).stayed = true));
    const watching = await api('folders');
    assert.equal(watching[0]!.watch, 'events');

    // A new photo of him (mirrored, so new content rather than a copy of one Kith knows).
    await sharp(join(BBT, 'leonard', 'leonard3.png')).flop().jpeg({ quality: 92 }).toFile(join(copy.library, 'new-leonard.jpg'));
    await waitText(page.getByTestId('person-counts'), new RegExp(`^${faces + 1} faces`), 60_000);
    assert.equal(await page.evaluate(() => (globalThis as unknown as { stayed?: boolean }).stayed), true, 'the page was not reloaded');
  });

  it('shows a name given by `kith name` in another process, with no reload', async () => {
    const penny = await personOf('penny');
    await page.evaluate(() => ((globalThis as unknown as { location: { hash: string } }).location.hash = '#/people'));
    const card = page.locator(`[data-testid="person-card"][data-person-id="${penny}"]`);
    await card.waitFor();
    const r = await runCli(['name', String(penny), 'Penny', '--db', copy.db]);
    assert.equal(r.code, 0, r.stderr);
    await waitText(card.getByTestId('person-name'), 'Penny', 15_000);
    assert.equal(await page.evaluate(() => (globalThis as unknown as { stayed?: boolean }).stayed), true, 'the page was not reloaded');
  });

  it('adds a second folder from the Library screen (indexed at once), and removes it again', async () => {
    const second = join(tempDir('kith-second-folder-'), 'Raj');
    mkdirSync(second);
    await sharp(join(BBT, 'raj', 'raj2.png')).flop().jpeg({ quality: 92 }).toFile(join(second, 'raj-mirrored.jpg'));
    await page.evaluate(() => ((globalThis as unknown as { location: { hash: string } }).location.hash = '#/library'));
    const rows = page.getByTestId('folder-row');
    await waitCount(rows, 1);
    await page.getByTestId('folder-add-input').fill(second);
    await page.getByTestId('folder-add').click();
    await waitCount(rows, 2);
    await waitText(rows.filter({ hasText: second }), /1 photo\b/, 60_000);
    assert.deepEqual((await api('folders')).map((f) => f.path), [copy.library, second]);

    page.once('dialog', (d) => void d.accept());
    await rows.filter({ hasText: second }).getByTestId('folder-remove').click();
    await waitCount(rows, 1);
    assert.deepEqual((await api('folders')).map((f) => f.path), [copy.library]);
    assert.ok(!(await api('exportFaces')).some((f) => f.photo.startsWith(second)), 'its faces left the library');
  });
});

/**
 * A new user's first hour with Kith, in a real Chromium window of 800×600 on a real engine and
 * real photos: typing `~/Photos` on the first-run screen (checked as it is typed, stale errors
 * cleared once indexing starts), pausing half-way (the people found so far are shown) and
 * resuming (the counter keeps the folder's true totals), the People grid by keyboard, the photo
 * viewer's labels and wording and Escape, search with a stranger's photo, a photo of two faces,
 * a text file and a long name, and the Suggestions queue down to its honest empty state.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { apiOf, ensureRendererBuilt, launch, NO_BROWSER, overlap, pauseMidRun, runProgress, serve, shot, waitCount, waitText, whileFrozen, type Box, type Server } from './browser.ts';
import { BBT, FACES, copyFaces, facesIn, tempDir, waitFor } from './helpers.ts';

// The few browser globals used inside page.evaluate callbacks (this file compiles without the DOM lib).
interface El {
  getAttribute(name: string): string | null;
  closest(sel: string): El | null;
  contains(other: El | null): boolean;
  scrollWidth: number;
  clientWidth: number;
}
declare const location: { hash: string };
declare const document: { activeElement: El | null; elementFromPoint(x: number, y: number): El | null; querySelector(sel: string): El | null };

const VIEWPORT = { width: 800, height: 600 };
const LONG_NAME = 'Leonard Leakey Hofstadter of Pasadena, California';

describe('a new user\'s first hour, at 800×600', { skip: NO_BROWSER }, () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  let home: string;
  let library: string;
  let dir: string;
  const api = apiOf(() => server);
  let photoCount = 0;

  before(async () => {
    ensureRendererBuilt();
    dir = tempDir('kith-first-hour-');
    home = join(dir, 'home');
    library = join(home, 'Photos');
    photoCount = copyFaces(library, [...facesIn('groups/faceapi'), ...facesIn('portraits/faceapi-bbt')]).length;
    server = await serve(join(dir, 'library.db'), { HOME: home });
    browser = await launch();
    page = await browser.newPage({ viewport: VIEWPORT, colorScheme: 'light' });
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const go = (hash: string) => page.evaluate((h) => (location.hash = h), hash);
  const hash = () => page.evaluate(() => location.hash);

  it('checks the folder as it is typed, and expands ~ to the home folder', async () => {
    await page.goto(server.url);
    await page.getByTestId('first-run').waitFor();
    const input = page.getByTestId('folder-input');
    const check = page.getByTestId('folder-check');

    await input.fill(join(dir, 'nowhere'));
    await page.waitForSelector('[data-testid="folder-check"][data-state="missing"]');
    assert.equal(await waitText(check, `There is no folder at ${join(dir, 'nowhere')}`), `There is no folder at ${join(dir, 'nowhere')}`);
    assert.ok(await page.getByTestId('start-index').isDisabled(), 'Start waits for a real folder');

    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'not a folder');
    await input.fill(file);
    await page.waitForSelector('[data-testid="folder-check"][data-state="not-folder"]');
    await waitText(check, `${file} is a file, not a folder`);

    await input.fill('~/Photos');
    await page.waitForSelector('[data-testid="folder-check"][data-state="ok"]');
    await waitText(check, `${photoCount} photos in ${library}`);
    await shot(page, 'first-hour-01-folder-check');
  });

  it('clears a stale error once indexing starts, and indexes ~/Photos in the home folder', async () => {
    const input = page.getByTestId('folder-input');
    // Enter before the check answers: the engine refuses, and says so in an error toast.
    await input.fill('~/Fotos');
    await input.press('Enter');
    await waitText(page.getByTestId('toast-message').last(), /folder not found: .*\/home\/Fotos$/);

    await input.fill('~/Photos');
    await page.waitForSelector('[data-testid="folder-check"][data-state="ok"]');
    await page.getByTestId('start-index').click();
    await page.getByTestId('index-progress').waitFor({ timeout: 30_000 });
    await waitCount(page.getByTestId('toast-message'), 0, 3000);
    // The run records its folder once its models are loaded.
    const root = await waitFor('the run to record its folder', async () => (await api('status')).root, { timeout: 60_000 });
    assert.equal(root, library, 'the server resolved ~ to HOME, not to its working directory');
  });

  it('shows the people found so far when paused, and keeps the folder\'s totals on resume', async () => {
    // Pause once a third of the folder is done.
    await pauseMidRun(server, page, { done: 15 });
    await page.getByTestId('resume-button').waitFor({ timeout: 60_000 });
    // Paused at once; the run then stores the photos in hand and groups what it found.
    const paused = await waitFor('the paused run to finish clustering', async () => {
      const s = await api('status');
      return s.indexing === null ? s : null;
    }, { timeout: 60_000 });
    assert.equal(paused.paused, true);
    assert.ok(paused.photos >= 15 && paused.photos < photoCount, `${paused.photos} photos indexed before the pause`);
    assert.ok(paused.people > 0, 'the faces found before the pause are grouped into people');

    await go('#/people');
    await page.getByTestId('person-card').first().waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('person-card').count(), (await api('people')).length);
    await shot(page, 'first-hour-02-paused-people');

    await page.getByTestId('resume-button').click();
    // With the resumed run indexing, hold the server still and read the counter it shows.
    await runProgress(server, (run) => run.phase === 'indexing');
    const counter = await whileFrozen(server, () => waitText(page.getByTestId('progress-counts'), /^\d+ of [1-9]\d* photos$/, 30_000));
    const [, shownDone, shownTotal] = /^(\d+) of (\d+) photos$/.exec(counter)!;
    assert.equal(Number(shownTotal), photoCount, `total is the whole folder: "${counter}"`);
    assert.ok(Number(shownDone) >= paused.photos, `photos done before the pause count as done: "${counter}"`);
    await page.getByTestId('library-summary').waitFor({ timeout: 240_000 });
    assert.equal((await api('status')).photos, photoCount);
  });

  it('gives each People card one Tab stop, a named check box, and arrow keys', async () => {
    const list = await api('people');
    assert.ok(list.length >= 6, `${list.length} people`);
    await api('renamePerson', list[0]!.id, LONG_NAME);
    await go('#/people');
    await waitText(page.locator(`[data-testid="person-card"][data-person-id="${list[0]!.id}"] [data-testid="person-name"]`), LONG_NAME);

    const grid = page.getByTestId('people-grid');
    const unnamed = await grid.getByTestId('person-name').evaluateAll((els) => els.filter((e) => (e as unknown as { textContent: string }).textContent === 'Unnamed').length);
    assert.ok(unnamed > 0);
    assert.equal(await grid.getByRole('checkbox', { name: 'Select this person' }).count(), unnamed);
    assert.equal(await grid.getByRole('checkbox', { name: `Select ${LONG_NAME}` }).count(), 1);

    const links = grid.getByTestId('person-card-link');
    const order = await grid.getByTestId('person-card').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-person-id'))));
    const focusedPerson = () => page.evaluate(() => Number(document.activeElement?.closest('[data-person-id]')?.getAttribute('data-person-id') ?? -1));
    await links.first().focus();
    assert.equal(await focusedPerson(), order[0]);
    await page.keyboard.press('ArrowRight');
    assert.equal(await focusedPerson(), order[1]);
    await page.keyboard.press('ArrowLeft');
    assert.equal(await focusedPerson(), order[0]);

    const boxes = await links.evaluateAll((els) => els.map((e) => (e as unknown as { getBoundingClientRect(): Box & { top: number; left: number } }).getBoundingClientRect()).map((r) => ({ x: r.left, y: r.top })));
    const below = boxes.findIndex((b) => b.y > boxes[0]!.y + 10 && Math.abs(b.x - boxes[0]!.x) < 5);
    assert.ok(below > 0, 'the grid wraps into a second row at 800 px');
    await page.keyboard.press('ArrowDown');
    assert.equal(await focusedPerson(), order[below]);
    await page.keyboard.press('ArrowUp');
    assert.equal(await focusedPerson(), order[0]);
    await page.keyboard.press('End');
    assert.equal(await focusedPerson(), order.at(-1));

    // One Tab stop for the whole grid: Tab from a card leaves the grid, not to its check box.
    await page.keyboard.press('Home');
    await page.keyboard.press('Tab');
    assert.equal(await focusedPerson(), -1, 'Tab left the People grid');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await focusedPerson(), order[0], 'Shift+Tab comes back to the card last focused');

    await page.keyboard.press('Space');
    await waitText(page.getByTestId('people-selection-bar').locator('.count'), '1 person selected');
    await page.keyboard.press('Escape');
    await shot(page, 'first-hour-03-people');
  });

  it('lays the names on a group photo out without overlaps, says "this person", and closes on Escape', async () => {
    const photos = await api('photosOfPerson', (await api('people'))[0]!.id, 0, 100);
    const group = [...photos.items].sort((a, b) => b.faces.length - a.faces.length)[0]!;
    assert.ok(group.faces.length >= 4, `a group photo with ${group.faces.length} faces`);
    // Everyone in it but one gets a full name: side by side, such names are wider than the faces.
    const FULL_NAMES = ['Howard Wolowitz', 'Rajesh Koothrappali', 'Bernadette Rostenkowski', 'Amy Farrah Fowler', 'Penny Hofstadter', 'Stuart Bloom'];
    const persons = [...new Set(group.faces.map((f) => f.personId).filter((id) => id !== null))];
    const unnamedIds = persons.filter((id) => group.faces.find((f) => f.personId === id)!.personName === null);
    for (const [i, id] of unnamedIds.slice(1).entries()) await api('renamePerson', id, FULL_NAMES[i]!);
    const leftUnnamed = unnamedIds[0];
    await go('#/people');
    await page.getByTestId('people-grid').waitFor();
    await go(`#/photo/${group.id}`);
    await waitCount(page.getByTestId('face-box'), group.faces.length);
    // The labels are placed once the photo is measured: wait until the photo has loaded, every
    // label is placed, and none has moved since the frame before.
    await page.waitForFunction(
      () => {
        const dom = document as unknown as {
          querySelector(sel: string): { complete: boolean } | null;
          querySelectorAll(sel: string): ArrayLike<{ classList: { contains(c: string): boolean }; getBoundingClientRect(): { left: number; top: number } }>;
        };
        const g = globalThis as unknown as { lastLabelSpots?: string };
        const labels = Array.from(dom.querySelectorAll('[data-testid="face-label"]'));
        if (!dom.querySelector('[data-testid="photo-viewer"] img')?.complete || labels.length === 0 || !labels.every((l) => l.classList.contains('placed'))) return false;
        const spots = JSON.stringify(labels.map((l) => [l.getBoundingClientRect().left, l.getBoundingClientRect().top]));
        const settled = g.lastLabelSpots === spots;
        g.lastLabelSpots = spots;
        return settled;
      },
      undefined,
      { polling: 'raf' },
    );
    const labels = await page.getByTestId('face-label').evaluateAll((els) =>
      els.map((e) => {
        const r = (e as unknown as { getBoundingClientRect(): { left: number; top: number; width: number; height: number } }).getBoundingClientRect();
        return { x: r.left, y: r.top, width: r.width, height: r.height };
      }),
    );
    await shot(page, 'first-hour-04-photo-labels');
    for (let i = 0; i < labels.length; i++) {
      for (let j = i + 1; j < labels.length; j++) assert.ok(!overlap(labels[i]!, labels[j]!), `labels ${i} and ${j} overlap: ${JSON.stringify([labels[i], labels[j]])}`);
    }

    const unnamedFace = group.faces.find((f) => f.personId === leftUnnamed);
    assert.ok(unnamedFace, 'someone in the group photo has no name yet');
    await page.locator(`[data-testid="face-box"][data-face-id="${unnamedFace.id}"]`).click();
    await waitText(page.getByTestId('open-person'), 'Open this person');
    await waitText(page.getByTestId('photo-reject'), 'Not this person');

    await page.locator('h2').first().click();
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => location.hash === '#/people');
    assert.equal(await page.getByTestId('photo-viewer').count(), 0);
  });

  it('says nobody looks like a stranger, shows one group per face, refuses a text file, and truncates long names', async () => {
    await go('#/search');
    await page.getByTestId('search-page').waitFor();
    const stranger = join(FACES, 'portraits', 'vladmandic-human', 'lexi', 'person-lexi.jpg');
    await page.getByTestId('photo-file-input').setInputFiles(stranger);
    await waitText(page.getByTestId('state-empty').locator('.title'), 'Nobody in your library looks like this', 30_000);
    const answer = await api('searchByPhoto', (await sharp(stranger).toBuffer()).toString('base64'), 24);
    assert.equal(answer.queryFaces, 1);
    assert.equal(answer.hits.length, 0, `hits at ${answer.hits.map((h) => h.similarity.toFixed(2)).join(', ')}`);
    await shot(page, 'first-hour-05-stranger');

    // Two of the library's people side by side: Penny left, Leonard right.
    const two = join(dir, 'two-faces.jpg');
    await sharp({ create: { width: 400, height: 220, channels: 3, background: '#888' } })
      .composite([
        { input: join(BBT, 'penny', 'penny2.png'), left: 25, top: 35 },
        { input: join(BBT, 'leonard', 'leonard2.png'), left: 225, top: 35 },
      ])
      .jpeg()
      .toFile(two);
    await page.getByTestId('photo-file-input').setInputFiles(two);
    await waitCount(page.getByTestId('search-group'), 2, 30_000);
    const byPhoto = await api('searchByPhoto', (await sharp(two).toBuffer()).toString('base64'), 24);
    assert.equal(byPhoto.groups.length, 2);
    const groups = page.getByTestId('search-group');
    for (const [i, g] of byPhoto.groups.entries()) {
      assert.ok(g.people.length > 0, `face ${i + 1} looks like someone`);
      assert.equal(await groups.nth(i).getByTestId('similar-person').first().getAttribute('data-person-id'), String(g.people[0]!.personId));
    }
    assert.notEqual(byPhoto.groups[0]!.people[0]!.personId, byPhoto.groups[1]!.people[0]!.personId, 'two faces, two different people');
    await shot(page, 'first-hour-06-two-faces');

    // Dropping a text file says so, instead of doing nothing.
    await page.evaluate(() => {
      const g = globalThis as unknown as {
        DataTransfer: new () => { items: { add(f: unknown): void } };
        File: new (parts: string[], name: string, opts: { type: string }) => unknown;
        DragEvent: new (type: string, init: { dataTransfer: unknown; bubbles: boolean; cancelable: boolean }) => unknown;
      };
      const dt = new g.DataTransfer();
      dt.items.add(new g.File(['just some notes'], 'notes.txt', { type: 'text/plain' }));
      const zone = document.querySelector('[aria-label="Search with a photo"]') as unknown as { dispatchEvent(e: unknown): void };
      zone.dispatchEvent(new g.DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await waitText(page.getByTestId('drop-error'), /“notes\.txt” is not a photo/);

    // A long name ends in an ellipsis inside its own cell.
    const named = (await api('people')).find((p) => p.name === LONG_NAME)!;
    const face = (await api('person', named.id, 0, 1)).faces[0]!;
    await go(`#/search/face/${face.id}`);
    await page.getByTestId('similar-face').first().waitFor({ timeout: 30_000 });
    const cells = await page.getByTestId('similar-face').evaluateAll((els) =>
      els.map((e) => {
        const name = (e as unknown as { querySelector(s: string): El & { textContent: string; getBoundingClientRect(): { left: number; right: number } } }).querySelector(
          '[data-testid="similar-face-name"]',
        );
        const cell = (e as unknown as { getBoundingClientRect(): { left: number; right: number } }).getBoundingClientRect();
        const r = name.getBoundingClientRect();
        return { text: name.textContent, truncated: name.scrollWidth > name.clientWidth, inside: r.left >= cell.left - 0.5 && r.right <= cell.right + 0.5 };
      }),
    );
    const long = cells.filter((c) => c.text === LONG_NAME);
    assert.ok(long.length > 0, 'the long-named person is among the similar faces');
    assert.ok(long.every((c) => c.truncated && c.inside), JSON.stringify(long));
    assert.ok(cells.every((c) => c.inside), 'no name runs out of its cell');
    await shot(page, 'first-hour-07-long-names');
  });

  it('keeps the Yes and No buttons in view at 800×600, and says why the queue is empty', async () => {
    const list = await api('people');
    for (const [i, p] of list.slice(1, 3).entries()) await api('renamePerson', p.id, ['Sheldon', 'Penny'][i]!);
    const named = list[0]!;
    const split = (await api('person', named.id, 0, 100)).faces.at(-1)!;
    await api('moveFaces', [split.id], null);
    await go('#/suggestions');
    await page.getByTestId('suggestion-card').waitFor({ timeout: 30_000 });
    await shot(page, 'first-hour-08-suggestion');
    for (const id of ['accept-suggestion', 'reject-suggestion']) {
      const box = (await page.getByTestId(id).boundingBox())!;
      assert.ok(box.y >= 0 && box.y + box.height <= VIEWPORT.height, `${id} at y ${box.y}–${box.y + box.height}`);
      const onTop = await page.evaluate(
        ([x, y, testId]) => {
          const target = document.querySelector(`[data-testid="${testId}"]`);
          return target !== null && target.contains(document.elementFromPoint(x as number, y as number));
        },
        [box.x + box.width / 2, box.y + box.height / 2, id] as const,
      );
      assert.ok(onTop, `${id} is visible, not covered or scrolled away`);
    }

    // Naming questions, then "Are these the same person?" ones (a split of Leonard here): N to each.
    const card = page.locator('[data-testid="suggestion-card"], [data-testid="merge-question-card"]');
    for (let n = 0; n < 50 && (await card.count()) > 0; n++) {
      const key = await card.getAttribute('data-key');
      await page.locator('body').press('n');
      await page.waitForFunction((k) => !document.querySelector(`[data-key="${k}"]`), key);
    }
    const unnamed = (await api('people')).filter((p) => p.name === null && !p.hidden).length;
    const unassigned = (await api('status')).unassignedFaces;
    assert.ok(unnamed + unassigned > 0);
    const text = await waitText(page.getByTestId('state-empty'), /Nothing Kith is sure enough to ask/);
    if (unnamed > 0) assert.match(text, new RegExp(`${unnamed} unnamed (person|people)`));
    if (unassigned > 0) assert.match(text, new RegExp(`${unassigned} unassigned faces?`));
    await shot(page, 'first-hour-09-suggestions-empty');
  });
});

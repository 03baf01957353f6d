/**
 * The "Are these the same person?" card in a real Chromium at 800×600, on a real engine: the Big
 * Bang Theory portraits indexed (a copy of the shared library, indexed-fixture.ts), then two
 * characters split as a clustering could split them (machine assignments, no user decision).
 * The card shows a few faces of both people side by side with Yes / No / Skip and how sure; Y
 * merges, → skips, N keeps them apart for good.
 */
import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { Store } from '../native/store/index.ts';
import { apiOf, ensureRendererBuilt, launch, NO_BROWSER, serve, shot, waitText, type Server } from './browser.ts';
import { indexedFixtureCopy } from './indexed-fixture.ts';

declare const document: { querySelector(sel: string): { getAttribute(name: string): string | null } | null };

const VIEWPORT = { width: 800, height: 600 };

describe('the merge question card', { skip: NO_BROWSER }, () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  const api = apiOf(() => server);
  /** Faces of the two machine-made parts of each split character. */
  const parts = new Map<string, { whole: number[]; part: number[] }>();

  before(async () => {
    ensureRendererBuilt();
    const { db } = await indexedFixtureCopy('bbt');
    const store = new Store(db);
    const who = (faceId: number) => basename(dirname(store.views.photoOfFace(faceId)!.path));
    for (const [character, n] of [['leonard', 2], ['penny', 1]] as const) {
      const person = store.people.summaries().find((p) => p.faceCount > 0 && store.people.facesOf(p.id).every((f) => who(f.faceId) === character))!;
      const faces = store.people.facesOf(person.id).map((f) => f.faceId);
      const part = faces.slice(-n);
      store.transaction(() => {
        const other = store.people.create(null);
        for (const f of part) store.people.assign(f, other, 'cluster');
      });
      parts.set(character, { whole: faces.slice(0, -n), part });
    }
    store.close();
    server = await serve(db);
    browser = await launch();
    page = await browser.newPage({ viewport: VIEWPORT, colorScheme: 'light' });
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const card = () => page.getByTestId('merge-question-card');
  const cardKey = () => card().getAttribute('data-key');
  const keyGone = (key: string | null) => page.waitForFunction((k) => document.querySelector(`[data-testid="merge-question-card"]`)?.getAttribute('data-key') !== k, key);

  it('shows both people side by side with how sure, and Yes and No in view', async () => {
    await page.goto(server.url);
    await page.evaluate(() => ((globalThis as unknown as { location: { hash: string } }).location.hash = '#/suggestions'));
    await card().waitFor({ timeout: 30_000 });
    await waitText(page.getByTestId('merge-question'), 'Are these the same person?');
    const [first] = await api('mergeQuestions');
    assert.equal(await cardKey(), first!.key, 'the card asks the engine\'s first question');
    const sides = page.getByTestId('merge-side');
    assert.equal(await sides.count(), 2);
    assert.equal(await sides.nth(0).locator('img').count(), first!.fromFaceIds.length);
    assert.equal(await sides.nth(1).locator('img').count(), first!.intoFaceIds.length);
    await waitText(card().locator('.question p'), `${Math.round(first!.confidence * 100)}% sure`);
    for (const id of ['merge-yes', 'merge-no', 'merge-skip']) {
      const box = (await page.getByTestId(id).boundingBox())!;
      assert.ok(box.y >= 0 && box.y + box.height <= VIEWPORT.height, `${id} at y ${box.y}–${box.y + box.height}`);
    }
    await shot(page, 'merge-question-card');
  });

  it('Y merges the two parts of Leonard into one person', async () => {
    const key = await cardKey();
    const { whole, part } = parts.get('leonard')!;
    assert.ok(key && [...whole, ...part].length === 5);
    await page.locator('body').press('y');
    await keyGone(key);
    const holders: number[] = [];
    for (const p of await api('people')) {
      const faces = (await api('person', p.id, 0, 100)).faces.map((f) => f.id);
      const held = [...whole, ...part].filter((f) => faces.includes(f)).length;
      if (held > 0) holders.push(held);
    }
    assert.deepEqual(holders, [5], 'one person holds all five of Leonard\'s faces');
  });

  it('→ skips, and N keeps Penny\'s two parts apart; nothing is left to ask', async () => {
    const key = await cardKey();
    await page.locator('body').press('ArrowRight');
    await waitText(page.getByTestId('state-empty'), /You skipped the rest/);
    await page.getByRole('button', { name: /Review the 1 skipped one/ }).click();
    await card().waitFor();
    assert.equal(await cardKey(), key);
    await page.locator('body').press('n');
    await keyGone(key);
    assert.deepEqual(await api('mergeQuestions'), []);
    const status = await api('cluster', true);
    assert.ok(status.people > 0);
    assert.deepEqual(await api('mergeQuestions'), [], 'not asked again after a full re-cluster');
  });
});

/**
 * @file The People grid in a real browser: groups without the evidence of a person sit in a
 * collapsed "Maybe" section after everyone else, and open with a click. The library
 * (maybe-fixture.ts, indexed once and copied: indexed-fixture.ts): seven characters with five
 * portraits each, and Stuart in one portrait plus a small face in a crowd, served by the real
 * `kith serve`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { NO_BROWSER, apiOf, ensureRendererBuilt, launch, serve, type Server } from './browser.ts';
import { indexedFixtureCopy } from './indexed-fixture.ts';

describe('the Maybe section of the People grid', { skip: NO_BROWSER }, () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  let stuart: number;

  before(async () => {
    const { db } = await indexedFixtureCopy('maybe');
    ensureRendererBuilt();
    server = await serve(db);
    stuart = (await apiOf(() => server)('people')).find((p) => p.maybe)!.id;
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(server.url);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('shows seven people, and Stuart collapsed under Maybe at the end', async () => {
    const grid = page.getByTestId('people-grid');
    await grid.waitFor();
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('[data-testid="people-grid"] [data-testid="person-card"]').length === 7);
    const section = page.getByTestId('maybe-section');
    assert.equal(await section.getAttribute('open'), null, 'collapsed');
    assert.ok(!(await page.getByTestId('maybe-grid').isVisible()), 'its cards are hidden until asked for');
    assert.match((await section.locator('summary').textContent()) ?? '', /Maybe\s*1/);
    assert.equal(await page.getByTestId('people-count').textContent(), '7 people');

    await section.locator('summary').click();
    const card = page.getByTestId('maybe-grid').locator(`[data-testid="person-card"][data-person-id="${stuart}"]`);
    await card.waitFor({ state: 'visible' });
  });
});

/**
 * @file The smallest browser story, run as a test file of its own by browser-required.test.ts:
 * it launches Chromium the way every browser story does, under whatever KITH_CHROMIUM and
 * KITH_SKIP_BROWSER its process is given. (Not named *.test.ts: the suite runs it only there.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NO_BROWSER, launch } from './browser.ts';

describe('a browser story', { skip: NO_BROWSER }, () => {
  it('opens a page in Chromium', async () => {
    const browser = await launch();
    try {
      const page = await browser.newPage();
      await page.setContent('<p>kith</p>');
      assert.equal(await page.textContent('p'), 'kith');
    } finally {
      await browser.close();
    }
  });
});

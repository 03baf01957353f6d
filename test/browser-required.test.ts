/**
 * @file The browser stories need Chromium: on a machine without it they fail, saying how to
 * install it or that KITH_SKIP_BROWSER=1 skips them, and they are skipped only when
 * KITH_SKIP_BROWSER=1 says so. Each case runs browser-probe.ts under node --test in a child
 * process, as `npm test` runs every story.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CHROMIUM } from './browser.ts';
import { REPO, tempDir } from './helpers.ts';

/**
 * node --test on the probe story with `env` added: CI, KITH_SKIP_BROWSER and KITH_CHROMIUM are
 * unset first, and so is NODE_TEST_CONTEXT (with it, node --test in a test would not run files).
 */
function probe(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const unset = ['CI', 'KITH_SKIP_BROWSER', 'KITH_CHROMIUM', 'NODE_TEST_CONTEXT'];
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !unset.includes(k)));
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', join(REPO, 'test', 'browser-probe.ts')], {
    cwd: REPO,
    env: { ...base, ...env },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code, out })));
}

describe('the browser stories on a machine without Chromium', () => {
  const nowhere = join(tempDir('kith-no-chromium-'), 'chromium');

  it('fail, saying how to install Chromium or to set KITH_SKIP_BROWSER=1', async () => {
    const cases: Array<Record<string, string>> = [{ KITH_CHROMIUM: nowhere }, { KITH_CHROMIUM: nowhere, CI: 'true' }];
    for (const env of cases) {
      const r = await probe(env);
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /^# fail 1$/m, r.out);
      assert.ok(r.out.includes(`no Chromium at ${nowhere}`), r.out);
      assert.match(r.out, /apt-get install chromium/);
      assert.match(r.out, /KITH_SKIP_BROWSER=1 skips the browser tests/);
    }
  });

  it('are skipped, and say so, when KITH_SKIP_BROWSER=1', async () => {
    const r = await probe({ KITH_CHROMIUM: nowhere, KITH_SKIP_BROWSER: '1' });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^ok 1 - a browser story # SKIP KITH_SKIP_BROWSER=1 \(no Chromium at .*apt-get install chromium/m, r.out);
    assert.match(r.out, /^# fail 0$/m, r.out);
  });

  it('run where Chromium is', { skip: process.env.KITH_SKIP_BROWSER === '1' ? 'KITH_SKIP_BROWSER=1' : false }, async () => {
    const r = await probe({ KITH_CHROMIUM: CHROMIUM });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^# pass 1$/m, r.out);
  });
});

/**
 * @file The end-of-run summary explains the numbers a user would otherwise wonder about: files
 * touched but unchanged, copies stored once, thumbnails made again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IndexSummary } from '../native/indexing/indexer.ts';
import { summaryText } from '../native/cli/index-report.ts';

const run: IndexSummary = {
  runId: 2, provider: 'cpu', modelId: 'm', scanned: 465, unchanged: 464, touched: 0, indexed: 0, moved: 0, copies: 0,
  thumbsRebuilt: 0, removed: 0, reembedded: 0, errors: 1, faces: 0, wallMs: 900,
  stages: { read: 0, decode: 0, detect: 0, align: 0, embed: 0, store: 0 }, interrupted: false,
};

describe('the index summary', () => {
  it('says nothing extra for a plain re-run', () => {
    assert.doesNotMatch(summaryText(run, 'kith index x', null), /touched|copies|copy|thumbnails/);
  });

  it('says how many files were touched but unchanged, stored as copies, or had thumbnails remade', () => {
    const text = summaryText({ ...run, touched: 464, copies: 1, thumbsRebuilt: 598 }, 'kith index x', null);
    assert.match(text, /464 touched but unchanged \(names kept\), 1 copy of photos already here \(faces counted once\), 598 face thumbnails made again/);
  });
});

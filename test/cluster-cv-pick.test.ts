/**
 * @file bench:cluster-cv's choice on a tuning half follows the order: pairwise
 * precision ≥ 0.995 first, then the best BCubed F (to 4 places), then the fewest user actions
 * per face, then the setting nearest today's values; with nothing at the bar, the most precise.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pickSetting, TODAY, type Figures, type Setting } from '../bench/cluster-cv.ts';

const s = (linkage: number, sizeBonus = TODAY.sizeBonus, gateMinSize = TODAY.gateMinSize): Setting => ({ linkage, sizeBonus, gateMinSize });
const f = (pairwiseP: number, bcubedF: number, actionsPerFace: number): Figures => ({ pairwiseP, bcubedF, actionsPerFace });

describe('bench:cluster-cv picks a setting', () => {
  it('by precision at the bar, then BCubed F, then actions per face, then nearness to today', () => {
    const rows = [
      { setting: s(0.4), figures: f(0.994, 0.999, 0.001) }, // best F, but under the bar
      { setting: s(0.425), figures: f(0.996, 0.98, 0.02) },
      { setting: s(0.5), figures: f(0.999, 0.99, 0.015) },
      { setting: s(0.475), figures: f(0.998, 0.99001, 0.012) }, // same F to 4 places, fewer actions
    ];
    assert.equal(pickSetting(rows), 3);
    rows[3]!.figures.actionsPerFace = 0.015;
    assert.equal(pickSetting(rows), 3, 'a full tie goes to the setting nearer today (0.475 is nearer 0.45 than 0.5)');
    rows[2]!.setting = s(0.45);
    assert.equal(pickSetting(rows), 2, "today's values win a full tie");
  });

  it('falls back to the most precise when nothing reaches the bar', () => {
    assert.equal(pickSetting([{ setting: s(0.4), figures: f(0.99, 0.99, 0.01) }, { setting: s(0.5), figures: f(0.993, 0.95, 0.05) }]), 1);
  });
});

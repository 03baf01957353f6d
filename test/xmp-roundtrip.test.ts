/**
 * @file Kith's own sidecars read back: `kith export --xmp` writes every face of a named person,
 * including the ones clustering placed there; reading those sidecars on the next `kith index`
 * must not turn Kith's guesses into faces the user vouched for (a wrong guess must stay
 * correctable by re-clustering), while the names the user gave stay as they were.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { copyFaces, facesIn, runCli, tempDir } from './helpers.ts';

const skip = spawnSync('exiftool', ['-ver']).status === 0 ? false : 'exiftool is not installed (Debian: apt install libimage-exiftool-perl); CI installs it';

interface ExportedFace {
  faceId: number;
  photo: string;
  personName: string | null;
  state: string;
}

describe('reading back the sidecars Kith wrote', { skip }, () => {
  const dir = tempDir('kith-xmp-roundtrip-');
  const library = join(dir, 'Photos');
  const db = ['--db', join(dir, 'library.db'), '--device', 'cpu'];
  const faces = async (): Promise<ExportedFace[]> => (JSON.parse((await runCli(['export', '--json', ...db])).stdout) as { faces: ExportedFace[] }).faces;
  let guessed: ExportedFace[] = [];

  before(async () => {
    const leonard = facesIn('portraits/faceapi-bbt', (p) => p.includes('/leonard/'));
    copyFaces(library, [...leonard.slice(0, 3), ...facesIn('portraits/faceapi-bbt', (p) => p.includes('/sheldon/'))]);
    assert.equal((await runCli(['index', library, ...db])).code, 0);
    const leo = (await faces()).find((f) => f.photo.includes('leonard1'))!;
    const people = (await runCli(['people', ...db])).stdout;
    const id = new RegExp(`#(\\d+)\\s+Unnamed\\s+3 faces`).exec(people)?.[1];
    assert.ok(id && leo, people);
    assert.equal((await runCli(['name', id, 'Leonard', ...db])).code, 0);
    // Two more photos of him arrive later: clustering places them with Leonard, unconfirmed.
    copyFaces(library, leonard.slice(3));
    assert.equal((await runCli(['index', library, ...db])).code, 0);
    guessed = (await faces()).filter((f) => f.personName === 'Leonard' && f.state === 'machine');
    assert.ok(guessed.length >= 1, 'clustering places a new photo of him with Leonard');
  });

  it('keeps the faces clustering placed as guesses, and the named ones as named', async () => {
    const exported = await runCli(['export', '--xmp', ...db]);
    assert.equal(exported.code, 0, exported.stderr);
    for (const f of guessed) assert.ok(existsSync(`${f.photo}.xmp`), `a sidecar for ${f.photo}`);
    assert.equal((await runCli(['index', library, ...db])).code, 0);
    const after = await faces();
    for (const g of guessed) {
      const now = after.find((f) => f.faceId === g.faceId)!;
      assert.deepEqual([now.personName, now.state], ['Leonard', 'machine'], `face ${g.faceId} is still a guess`);
    }
    assert.equal(after.filter((f) => f.personName === 'Leonard' && f.state === 'confirmed').length, 3);
  });
});

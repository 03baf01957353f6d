/**
 * The desktop app's engine process, driven exactly as Electron's utilityProcess would drive
 * it, through a fake parent port: it opens the library named by KITH_DB, indexes real photos
 * on request while forwarding progress events, answers calls (and bad calls, as user errors),
 * and hands out thumbnail and photo files only for faces and photos of this library.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KithEvents, LibraryStatus, PersonCard } from '../native/api/types.ts';
import { startEngineHost, type HostMessage, type HostRequest, type Port } from '../native/api/engine-host.ts';
import { copyFaces, facesIn, tempDir, waitFor } from './helpers.ts';

/** Electron's parentPort as the host sees it; `request` plays main's part. */
class FakePort extends EventEmitter implements Port {
  readonly sent: HostMessage[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, (m: HostMessage) => void>();

  override on(event: 'message', listener: (e: { data: unknown }) => void): this {
    return super.on(event, listener);
  }

  postMessage(message: unknown): void {
    // Messages cross a process boundary: they must survive structured clone.
    const m = structuredClone(message) as HostMessage;
    this.sent.push(m);
    if ((m.type === 'result' || m.type === 'error') && this.waiting.has(m.id)) {
      this.waiting.get(m.id)!(m);
      this.waiting.delete(m.id);
    }
  }

  request(msg: Record<string, unknown>): Promise<HostMessage> {
    const id = this.nextId++;
    return new Promise((done) => {
      this.waiting.set(id, done);
      this.emit('message', { data: { ...msg, id } as HostRequest });
    });
  }

  call(method: string, ...args: unknown[]) {
    return this.request({ type: 'call', method, args });
  }

  events<E extends keyof KithEvents>(event: E): KithEvents[E][] {
    return this.sent.flatMap((m) => (m.type === 'event' && m.event === event ? [m.data as KithEvents[E]] : []));
  }
}

function result<T>(m: HostMessage): T {
  assert.equal(m.type, 'result', `expected a result, got ${JSON.stringify(m)}`);
  return (m as { result: T }).result;
}

describe('the engine host (utilityProcess side of the desktop IPC)', () => {
  let dir: string;
  let library: string;
  let port: FakePort;
  let host: ReturnType<typeof startEngineHost>;
  let exitCode: number | null = null;

  before(() => {
    dir = tempDir('kith-host-');
    library = join(dir, 'Photos');
    copyFaces(library, facesIn('portraits/faceapi-bbt', (p) => /\/(leonard|penny)\//.test(p)));
    port = new FakePort();
    host = startEngineHost(
      port,
      { KITH_DB: join(dir, 'data', 'library.db'), KITH_DEVICE: 'cpu', KITH_EMBEDDER: 'fr-feature' },
      (code) => (exitCode = code),
    );
  });

  after(() => {
    if (host.store.db.open) host.store.close();
  });

  it('says it is ready once listening, with the library at KITH_DB', () => {
    assert.deepEqual(port.sent[0], { type: 'ready' });
    assert.equal(host.store.path, join(dir, 'data', 'library.db'));
  });

  it('round-trips a call: an empty library reports no photos', async () => {
    const status = result<LibraryStatus>(await port.call('status'));
    assert.equal(status.photos, 0);
    assert.equal(status.root, null);
  });

  it('indexes a folder in the background and forwards progress and change events', async () => {
    const started = result<LibraryStatus>(await port.call('startIndex', library));
    assert.ok(started.indexing, 'indexing is under way right after startIndex returns');
    await host.engine.idle();
    const status = result<LibraryStatus>(await port.call('status'));
    assert.equal(status.photos, 10);
    assert.equal(status.faces, 10);
    assert.equal(status.root, library);
    const progress = port.events('progress');
    assert.ok(progress.some((p) => p.phase === 'indexing' && p.done > 0), 'per-photo progress arrived');
    assert.equal(progress.at(-1)!.phase, 'done');
    assert.ok(port.events('changed').some((c) => c.reason === 'index'));
    const people = result<PersonCard[]>(await port.call('people'));
    assert.ok(people.length >= 2, `leonard and penny become people (got ${people.length})`);
  });

  it('answers a bad call with a user error, not a crash', async () => {
    const noPerson = await port.call('person', 424242);
    assert.deepEqual({ ...noPerson, id: 0 }, { type: 'error', id: 0, message: 'no person 424242', user: true });
    const unknown = await port.call('dropTables');
    assert.equal(unknown.type, 'error');
    assert.match((unknown as { message: string }).message, /no API method "dropTables"/);
    assert.equal((unknown as { user: boolean }).user, true);
    const badArgs = await port.request({ type: 'call', method: 'status', args: 'nope' });
    assert.deepEqual({ ...badArgs, id: 0 }, { type: 'error', id: 0, message: '"args" must be an array', user: true });
    const badType = await port.call('renamePerson', 'one', 42);
    assert.equal(badType.type, 'error');
    assert.equal((badType as { user: boolean }).user, true);
  });

  it('serves a real thumbnail for a face and the photo file for a photo, inside the library', async () => {
    const people = result<PersonCard[]>(await port.call('people'));
    const faceId = people[0]!.coverFaceId!;
    const thumb = result<{ path: string; type: string } | null>(await port.request({ type: 'resource', kind: 'thumb', faceOrPhotoId: faceId }));
    assert.ok(thumb);
    assert.equal(thumb.type, 'image/jpeg');
    const bytes = readFileSync(thumb.path);
    assert.ok(bytes.length > 1000);
    assert.deepEqual([...bytes.subarray(0, 3)], [0xff, 0xd8, 0xff], 'a JPEG');

    const photoId = host.store.views.photoOfFace(faceId)!.photoId;
    const photo = result<{ path: string; type: string } | null>(await port.request({ type: 'resource', kind: 'photo', faceOrPhotoId: photoId }));
    assert.ok(photo && photo.path.startsWith(library + sep) && existsSync(photo.path));
    assert.equal(photo.type, 'image/png');
  });

  it('returns null for ids not in the library, and refuses malformed resource requests', async () => {
    assert.equal(result(await port.request({ type: 'resource', kind: 'thumb', faceOrPhotoId: 987654 })), null);
    assert.equal(result(await port.request({ type: 'resource', kind: 'photo', faceOrPhotoId: 987654 })), null);
    const bad = await port.request({ type: 'resource', kind: 'file', faceOrPhotoId: '/etc/passwd' });
    assert.equal(bad.type, 'error');
    assert.equal((bad as { user: boolean }).user, true);
  });

  it('forwards events caused by calls (a rename says people changed)', async () => {
    const before = port.events('changed').length;
    const people = result<PersonCard[]>(await port.call('people'));
    result(await port.call('renamePerson', people[0]!.id, 'Leonard'));
    const changed = port.events('changed').slice(before);
    assert.deepEqual(changed, [{ reason: 'people' }]);
  });

  it('shuts down on request: closes the library, answers, then exits 0', async () => {
    result(await port.request({ type: 'shutdown' }));
    assert.equal(host.store.db.open, false);
    await waitFor('the host to exit', () => exitCode !== null);
    assert.equal(exitCode, 0);
  });
});

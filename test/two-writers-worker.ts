/**
 * @file One of the two writers of test/two-writers.test.ts, run as its own process on a real
 * library: `people` renames, hides and undoes through the person service in a loop (what
 * `kith name` does); `indexer` rewrites photo rows, re-embeds faces and records run progress
 * in read-then-write transactions (what `kith index` does per batch). It prints one JSON line:
 * how many operations ran and how many failed with SQLITE_BUSY.
 */
import { PeopleService } from '../native/people/service.ts';
import { Store } from '../native/store/index.ts';

const [dbPath, mode, countArg] = process.argv.slice(2);
const iterations = Number(countArg);
const store = new Store(dbPath!);
let busy = 0;
let done = 0;
const errors: string[] = [];

function attempt(op: () => void): void {
  try {
    op();
    done++;
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_BUSY')) busy++;
    else errors.push(`${code} ${(err as Error).message}`);
  }
}

if (mode === 'people') {
  const service = new PeopleService(store);
  const people = store.people.summaries().filter((p) => p.faceCount > 0);
  for (let i = 0; i < iterations; i++) {
    const person = people[i % people.length]!;
    attempt(() => service.rename(person.id, `Writer ${i}`));
    attempt(() => service.setHidden(person.id, i % 2 === 0));
    attempt(() => service.undo());
  }
} else {
  const photos = store.photos.list();
  const runId = store.runs.start('two-writers', 'cpu', 'test');
  for (let i = 0; i < iterations; i++) {
    const photo = photos[i % photos.length]!;
    attempt(() =>
      store.transaction(() => {
        // Same values back: the library stays as it was, but every step reads before it writes.
        store.photos.upsert(photo.path, {
          size: photo.size,
          mtimeMs: photo.mtimeMs,
          hash: photo.hash,
          width: photo.width,
          height: photo.height,
          format: photo.format,
          takenAt: photo.takenAt,
          status: photo.status,
          error: photo.error,
          runId,
        });
        for (const face of store.faces.forPhoto(photo.id)) store.faces.reembed(face.id, face.embedding, face.modelId);
        store.runs.progress(runId, iterations, i, 0, 0);
      }),
    );
  }
  store.runs.finish(runId, 'done');
}
store.close();
console.log(JSON.stringify({ mode, done, busy, errors: errors.slice(0, 5) }));

/**
 * @file A process that asks for a copy of an indexed fixture library and prints where it was put
 * and how many photos its database holds (the copy goes when this process exits): how
 * test/indexed-fixture.test.ts starts several test files' worth of processes at once.
 */
import { openDb } from '../native/store/db.ts';
import { indexedFixtureCopy, type FixtureName } from './indexed-fixture.ts';

const copy = await indexedFixtureCopy((process.argv[2] ?? 'bbt') as FixtureName);
const db = openDb(copy.db, { readonly: true });
const { n } = db.prepare('SELECT count(*) AS n FROM photos').get() as { n: number };
db.close();
console.log(JSON.stringify({ db: copy.db, photos: n }));

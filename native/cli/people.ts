/**
 * @file The people commands of `kith` (people, name, merge, move, reject, apart, undo, suggest,
 * search, cluster, export, export --xmp): each one call of the engine API, printed for a terminal.
 */
import { readFile } from 'node:fs/promises';
import type { OpResult, SearchResult, XmpSidecarStyle } from '../api/types.ts';
import type { KithClient } from '../api/api.ts';
import { UserError } from '../common/user-error.ts';

async function personRef(api: KithClient, ref: string): Promise<number> {
  return /^\d+$/.test(ref) ? Number(ref) : api.personByName(ref);
}

function faceRef(ref: string): number {
  if (!/^\d+$/.test(ref)) throw new UserError(`"${ref}" is not a face id`);
  return Number(ref);
}

const personLabel = (id: number | null, name: string | null) => (id === null ? 'unassigned' : name ? `${name} (#${id})` : `unnamed #${id}`);

function printOp(r: OpResult | null): number {
  if (!r) {
    console.log('Nothing to undo.');
    return 0;
  }
  if (r.conflictWith !== undefined) {
    console.log(`${r.label}: #${r.conflictWith}. Merge them with \`kith merge ${r.personId} ${r.conflictWith}\`.`);
    return 1;
  }
  console.log(r.label);
  return 0;
}

function printSearch(r: SearchResult): void {
  console.log(`${r.queryFaces} face${r.queryFaces === 1 ? '' : 's'} in the query.`);
  for (const p of r.people.slice(0, 10)) console.log(`  ${(p.similarity * 100).toFixed(0)}%  ${personLabel(p.personId, p.name)}`);
  console.log('Most similar faces:');
  for (const h of r.hits.slice(0, 20)) console.log(`  face ${h.faceId}  ${(h.similarity * 100).toFixed(0)}%  ${personLabel(h.personId, h.personName)}`);
}

/** The true reason `kith suggest` has nothing to say. */
async function whyNoSuggestions(api: KithClient): Promise<string> {
  const people = await api.people(false);
  const named = people.filter((p) => p.name !== null).length;
  const unnamed = people.length - named;
  const { unassignedFaces } = await api.status();
  if (named === 0) return 'No suggestions yet: name a few people first (`kith name <person> <name>`), and Kith suggests names for the rest.';
  if (unnamed === 0 && unassignedFaces === 0) return 'No suggestions: every face already belongs to a named person.';
  const open = [unnamed ? `${unnamed} unnamed ${unnamed === 1 ? 'person' : 'people'}` : '', unassignedFaces ? `${unassignedFaces} unassigned face${unassignedFaces === 1 ? '' : 's'}` : '']
    .filter(Boolean)
    .join(' and ');
  return `No suggestions: ${open} left, but none looks enough like anyone you have named (or you already said no).`;
}

export async function runPeopleCommand(api: KithClient, command: string, rest: string[], flags: { all: boolean; full: boolean; as?: string; json: boolean; xmp?: boolean; sidecar?: string }): Promise<number> {
  switch (command) {
    case 'people': {
      for (const p of await api.people(flags.all)) {
        console.log(`#${p.id}\t${p.name ?? 'Unnamed'}\t${p.faceCount} face${p.faceCount === 1 ? '' : 's'}${p.hidden ? '\t(hidden)' : ''}`);
      }
      const st = await api.status();
      console.log(`${st.people} people (${st.namedPeople} named), ${st.unassignedFaces} unassigned faces`);
      return 0;
    }
    case 'name':
      if (rest.length < 2) throw new UserError('usage: kith name <person> <name>');
      return printOp(await api.renamePerson(await personRef(api, rest[0]!), rest.slice(1).join(' ')));
    case 'merge':
      if (rest.length !== 2) throw new UserError('usage: kith merge <from> <into> [--as NAME]');
      return printOp(await api.mergePeople([await personRef(api, rest[0]!)], await personRef(api, rest[1]!), flags.as));
    case 'move': {
      if (rest.length < 2) throw new UserError('usage: kith move <face>... <person|new>');
      const target = rest.at(-1)!;
      const faces = rest.slice(0, -1).map(faceRef);
      return printOp(await api.moveFaces(faces, target === 'new' ? null : await personRef(api, target), flags.as));
    }
    case 'reject':
      if (rest.length !== 2) throw new UserError('usage: kith reject <face> <person>');
      return printOp(await api.rejectFaces([faceRef(rest[0]!)], await personRef(api, rest[1]!)));
    case 'apart':
      if (rest.length !== 2) throw new UserError('usage: kith apart <person> <person>');
      return printOp(await api.notSamePerson(await personRef(api, rest[0]!), await personRef(api, rest[1]!)));
    case 'undo':
      return printOp(await api.undo());
    case 'suggest': {
      const list = await api.suggestions();
      const merges = await api.mergeQuestions();
      if (list.length === 0 && merges.length === 0) console.log(await whyNoSuggestions(api));
      for (const s of list) {
        const what = s.kind === 'person' ? `unnamed #${s.personId} (${s.faceIds.length} faces)` : `face ${s.faceIds[0]}`;
        console.log(`${what}: is this ${s.suggestedName}? ${(s.confidence * 100).toFixed(0)}%`);
      }
      if (merges.length > 0) console.log(`Same person? (yes: \`kith merge <first> <second>\`, no: \`kith apart <first> <second>\`)`);
      for (const q of merges) {
        const into = q.intoName ? `${q.intoName} (#${q.intoId}, ${q.intoFaceCount} faces)` : `unnamed #${q.intoId} (${q.intoFaceCount} faces)`;
        console.log(`  ${q.fromId} ${q.intoId}: unnamed #${q.fromId} (${q.fromFaceCount} faces) and ${into}? ${(q.confidence * 100).toFixed(0)}%`);
      }
      return 0;
    }
    case 'search': {
      if (rest.length !== 1) throw new UserError('usage: kith search <photo|face id>');
      const r = /^\d+$/.test(rest[0]!) ? await api.searchByFace(Number(rest[0])) : await api.searchByPhoto((await readFile(rest[0]!)).toString('base64'));
      if (flags.json) console.log(JSON.stringify(r, null, 2));
      else printSearch(r);
      return 0;
    }
    case 'cluster': {
      const s = await api.cluster(flags.full);
      // The people the People screen and `kith people` count (groups under Maybe are not yet people).
      const { people } = await api.status();
      console.log(`${s.mode} clustering of ${s.faces} faces in ${s.ms.toFixed(0)} ms: ${people} people (${s.newPeople} new), ${s.unassigned} faces unassigned`);
      return 0;
    }
    case 'export': {
      if (flags.xmp) {
        if (flags.json) throw new UserError('usage: kith export --json, or kith export --xmp [--sidecar jpg.xmp|xmp]');
        const r = await api.exportXmp((flags.sidecar ?? 'jpg.xmp') as XmpSidecarStyle);
        for (const s of r.skipped) console.error(`kith: skipped ${s.path}: ${s.reason}`);
        console.log(`Wrote ${r.faces} named face${r.faces === 1 ? '' : 's'} into the XMP sidecars of ${r.photos} photo${r.photos === 1 ? '' : 's'}` +
          `${r.skipped.length ? `; ${r.skipped.length} skipped` : ''}. No photo was changed.`);
        return 0;
      }
      if (!flags.json) throw new UserError('usage: kith export --json, or kith export --xmp [--sidecar jpg.xmp|xmp]');
      const faces = await api.exportFaces();
      console.log(JSON.stringify({ faces }, null, 2));
      return 0;
    }
    default:
      throw new UserError(`unknown command "${command}"`);
  }
}

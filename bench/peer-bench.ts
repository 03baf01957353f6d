/**
 * @file `npm run bench:peer -- <folder>`: Kith against the usual Node way to do the same job,
 * @vladmandic/face-api on tfjs-wasm (see face-api-run.ts), on the same photos. Each contender
 * runs in its own child process, importing only its own libraries, so peak RSS is its own; the
 * parent prints the two side by side.
 */
import '../native/no-telemetry.ts';
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { JSON_PREFIX, limitedFolder, machine, machineLine, parseDevice, parseLimit, printJson, round, type Contender } from './common.ts';

const USAGE = `usage: npm run bench:peer -- <folder> [--limit N] [--device cpu|gpu|auto] [--embedder NAME]
         [--decoder canvas|jpeg-js]

  --limit N    use only the first N photos (sorted)
  --decoder    the peer's image decoder: @canvas/image (libjpeg-turbo/lodepng in WebAssembly,
               as in face-api's own demo/node-wasm.js; the default) or pure-JS jpeg-js`;

async function runKithContender(folder: string, device: string, embedder: string | undefined): Promise<Contender> {
  const { runKith } = await import('./kith-run.ts');
  const run = await runKith(folder, { device: parseDevice(device), embedder });
  const s = run.summary;
  return {
    contender: 'kith',
    label: `Kith (${s.provider}, ${s.modelId})`,
    photos: s.indexed,
    errors: s.errors,
    faces: s.faces,
    loadSec: round(run.loadMs / 1000, 2),
    wallSec: round(s.wallMs / 1000, 2),
    photosPerSec: round(s.indexed / (s.wallMs / 1000), 2),
    peakRssMiB: run.peakRssMiB,
    detail: { msPerPhoto: Object.fromEntries(Object.entries(s.stages).map(([k, ms]) => [k, s.indexed ? round(ms / s.indexed) : null])) },
  };
}

/** Runs this script again as `--only <which>` and returns the result line it prints. */
function child(which: Contender['contender'], args: string[]): Promise<Contender> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...process.execArgv, import.meta.filename, ...args, '--only', which], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    proc.on('error', reject);
    proc.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(JSON_PREFIX));
      if (code !== 0 || !line) reject(new Error(`the ${which} run failed (exit ${code})`));
      else resolve(JSON.parse(line.slice(JSON_PREFIX.length)) as Contender);
    });
  });
}

function table(rows: Contender[]): string {
  const head = ['', 'photos', 'errors', 'faces', 'load s', 'wall s', 'photos/s', 'peak RSS MiB'];
  const body = rows.map((r) => [r.label, r.photos, r.errors, r.faces, r.loadSec, r.wallSec, r.photosPerSec, r.peakRssMiB].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      limit: { type: 'string' },
      only: { type: 'string' },
      device: { type: 'string', default: 'auto' },
      embedder: { type: 'string' },
      decoder: { type: 'string', default: 'canvas' },
    },
  });
  if (positionals.length !== 1) throw new Error(USAGE);
  const folder = positionals[0]!;
  if (values.only === 'peer') return printJson(await (await import('./face-api-run.ts')).runFaceApi(folder, values.decoder));
  if (values.only === 'kith') return printJson(await runKithContender(folder, values.device, values.embedder));
  if (values.only !== undefined) throw new Error(`--only must be peer or kith`);

  const mach = machine();
  const photos = await limitedFolder(folder, parseLimit(values.limit));
  try {
    const pass = ['--device', values.device, '--decoder', values.decoder, ...(values.embedder ? ['--embedder', values.embedder] : [])];
    // One after the other: on a small machine two at once would slow each other down.
    const kith = await child('kith', [photos.folder, ...pass]);
    const peer = await child('peer', [photos.folder, ...pass]);
    const ratio = peer.photosPerSec > 0 ? round(kith.photosPerSec / peer.photosPerSec, 2) : null;
    console.log(machineLine(mach));
    console.log(`folder: ${folder}${values.limit ? ` (first ${values.limit} photos)` : ''}`);
    console.log(table([peer, kith]));
    console.log(`Kith / face-api photos/s: ${ratio ?? '-'}×`);
    console.log(`face-api detail: ${JSON.stringify(peer.detail)}`);
    console.log(`Kith detail: ${JSON.stringify(kith.detail)}`);
    const loadAfter = machine().load;
    console.log(`load average after: ${loadAfter.join(' ')}`);
    printJson({ bench: 'peer', folder, limit: parseLimit(values.limit) ?? null, peer, kith, kithOverPeerPhotosPerSec: ratio, machine: mach, loadAfter });
  } finally {
    photos.remove();
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench:peer: ${err.message}`);
    process.exit(1);
  },
);

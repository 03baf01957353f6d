/**
 * @file How a `kith` process ends. Writes to a pipe are asynchronous in Node: `process.exit`
 * right after a command returns throws away whatever the pipe has not taken yet, so
 * `kith export --json | jq` used to receive 64 KiB of a 3 MB answer and exit 0. The process
 * leaves only once stdout and stderr have handed everything to the operating system, and a
 * reader that stops early (`| head -1`) ends the command quietly, as it would end `cat`.
 */

type Output = NodeJS.WriteStream;

/** Call `done` once every byte written so far to `stream` has left the process (or cannot). */
function flushed(stream: Output, done: () => void): void {
  // Writes are queued in order, so the callback of an empty write runs after all earlier ones.
  if (stream.destroyed || !stream.writable) done();
  else stream.write('', () => done());
}

/** Exit with `code` after stdout and stderr are flushed. */
export function exitWhenFlushed(code: number, streams: Output[] = [process.stdout, process.stderr], exit: (code: number) => void = (c) => process.exit(c)): void {
  let waiting = streams.length;
  for (const stream of streams) flushed(stream, () => --waiting === 0 && exit(code));
}

/**
 * A closed pipe (EPIPE: the reader has gone) ends the process at once with `code`, without a
 * stack trace: nobody is left to read the rest. Other stream errors keep their default.
 */
export function quitOnClosedPipe(streams: Output[] = [process.stdout, process.stderr], exit: (code: number) => void = (c) => process.exit(c), code = 0): void {
  for (const stream of streams) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') exit(code);
      else throw err;
    });
  }
}

/**
 * Run a command as the whole process: closed pipes end it quietly, a thrown error is printed
 * as one `kith: …` line (exit 1), and the exit waits for the output to be delivered.
 */
export async function runAsProcess(command: () => Promise<number>): Promise<void> {
  quitOnClosedPipe();
  const code = await command().catch((err: Error) => {
    console.error(`kith: ${err.message}`);
    return 1;
  });
  exitWhenFlushed(code);
}

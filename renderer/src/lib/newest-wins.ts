/**
 * @file Re-reads triggered by pushed `changed` events can overlap; only the newest one may
 * land, or a slow older answer would overwrite a newer list.
 */
export interface ReadOutcome<T> {
  value(v: T): void;
  error(message: string): void;
  /** After the newest read ended, either way. */
  settled(): void;
}

/** A runner whose reads apply their outcome only if no newer read started meanwhile. */
export function newestWins(): <T>(read: () => Promise<T>, outcome: ReadOutcome<T>) => Promise<void> {
  let seq = 0;
  return async (read, outcome) => {
    const mine = ++seq;
    try {
      const v = await read();
      if (mine === seq) outcome.value(v);
    } catch (err) {
      if (mine === seq) outcome.error((err as Error).message);
    } finally {
      if (mine === seq) outcome.settled();
    }
  };
}

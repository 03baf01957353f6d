/**
 * @file A long list (a person's faces, unassigned faces) fetched page by page as the virtual
 * grid scrolls, so 10 000 faces cost only the pages on screen. `refresh` re-reads what is
 * loaded without blanking the grid.
 */
export interface PageAnswer<T> {
  total: number;
  items: T[];
}

export class PagedList<T> {
  total = $state(0);
  loaded = $state(false);
  error = $state<string | null>(null);
  private pages = $state.raw(new Map<number, T[]>());
  private inFlight = new Map<number, Promise<void>>();
  private generation = 0;
  /** The range the grid last showed: what a refresh re-reads first. */
  private inView: [number, number] = [0, 0];

  constructor(
    private readonly fetchPage: (offset: number, limit: number) => Promise<PageAnswer<T>>,
    readonly pageSize = 200,
  ) {}

  /** Item `index`, or undefined while its page is loading. */
  get(index: number): T | undefined {
    return this.pages.get(Math.floor(index / this.pageSize))?.[index % this.pageSize];
  }

  /** Load every page touching [from, to). */
  async ensure(from: number, to: number): Promise<void> {
    this.inView = [from, to];
    const first = Math.floor(Math.max(0, from) / this.pageSize);
    const last = Math.floor(Math.max(from, to - 1) / this.pageSize);
    const waits: Promise<void>[] = [];
    for (let p = first; p <= last; p++) {
      if (this.pages.has(p) && this.loaded) continue;
      waits.push(this.load(p, this.generation));
    }
    await Promise.all(waits);
  }

  /** Items [from, to), loading what is missing. */
  async slice(from: number, to: number): Promise<T[]> {
    await this.ensure(from, to);
    const out: T[] = [];
    for (let i = from; i < Math.min(to, this.total); i++) {
      const item = this.get(i);
      if (item !== undefined) out.push(item);
    }
    return out;
  }

  /**
   * Data changed: re-read the pages on screen (the first page when none) and swap them in
   * together; pages off screen are dropped and load again when scrolled to.
   */
  async refresh(): Promise<void> {
    const gen = ++this.generation;
    this.inFlight.clear();
    const [from, to] = this.inView;
    const wanted: number[] = [];
    for (let p = Math.floor(from / this.pageSize); p <= Math.floor(Math.max(from, to - 1) / this.pageSize); p++) wanted.push(p);
    try {
      const answers = await Promise.all(wanted.map((p) => this.fetchPage(p * this.pageSize, this.pageSize).then((a) => [p, a] as const)));
      if (gen !== this.generation) return;
      const pages = new Map<number, T[]>();
      for (const [p, a] of answers) if (a.items.length) pages.set(p, a.items);
      this.total = answers[0]?.[1].total ?? 0;
      this.pages = pages;
      this.error = null;
    } catch (err) {
      if (gen === this.generation) this.error = (err as Error).message;
    } finally {
      if (gen === this.generation) this.loaded = true;
    }
  }

  private load(page: number, gen: number): Promise<void> {
    const pending = this.inFlight.get(page);
    if (pending) return pending;
    const job = this.fetchPage(page * this.pageSize, this.pageSize)
      .then((a) => {
        if (gen !== this.generation) return;
        this.total = a.total;
        this.pages = new Map(this.pages).set(page, a.items);
        this.error = null;
      })
      .catch((err: Error) => {
        if (gen === this.generation) this.error = err.message;
      })
      .finally(() => {
        this.inFlight.delete(page);
        if (gen === this.generation) this.loaded = true;
      });
    this.inFlight.set(page, job);
    return job;
  }
}

// The last N call ids a receiver recorded, for counting a re-sent batch once while the store may not hold it yet
// (/api/ingest, /v1/traces).

/**
 * A set of at most `capacity` ids that forgets the oldest first. The ids are kept in a ring in the order they came:
 * forgetting the Set's first id instead (a new iterator each time) walks past every id deleted before it, which
 * cost about 40 µs a call on the receiving event loop once 100,000 ids had been remembered.
 */
export class RecentIds {
  private readonly ids = new Set<string>();
  private readonly order: (string | undefined)[];
  private next = 0;

  constructor(capacity: number) {
    this.order = new Array(Math.max(1, Math.floor(capacity)));
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }

  /** Remembers `id` (an id already remembered keeps its place); once full, forgets the oldest. */
  add(id: string): void {
    if (!this.ids.has(id)) this.addNew(id);
  }

  /**
   * `add` for an id the caller has just found not remembered (`has` false, nothing added since): the same, without
   * looking it up again (a look-up in a table of 100,000 ids is most of what remembering one costs).
   */
  addNew(id: string): void {
    const oldest = this.order[this.next];
    if (oldest !== undefined) this.ids.delete(oldest);
    this.order[this.next] = id;
    this.next = (this.next + 1) % this.order.length;
    this.ids.add(id);
  }
}

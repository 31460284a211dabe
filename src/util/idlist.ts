// The requests in flight on one connection, by id: a few dozen at most,
// mostly answered in the order they were sent. Two arrays searched from the
// oldest beat a Map or Set here: under a steady churn of inserts and deletes,
// V8 promotes those hash tables to the old generation and the entries they
// still point at with them, which made young-generation GCs 5-10x slower
// (docs/performance.md).

export class IdList<T> {
  private ids: string[] = [];
  private items: T[] = [];

  get size(): number {
    return this.ids.length;
  }

  has(id: string): boolean {
    return this.ids.indexOf(id) >= 0;
  }

  get(id: string): T | undefined {
    const i = this.ids.indexOf(id);
    return i < 0 ? undefined : this.items[i];
  }

  /** Appends; an id may be present more than once (the oldest is found first). */
  add(id: string, item: T): void {
    this.ids.push(id);
    this.items.push(item);
  }

  /** Removes the oldest entry with this id and returns its item. */
  remove(id: string): T | undefined {
    const i = this.ids.indexOf(id);
    if (i < 0) return undefined;
    const item = this.items[i];
    if (i === 0) {
      this.ids.shift();
      this.items.shift();
    } else {
      this.ids.splice(i, 1);
      this.items.splice(i, 1);
    }
    return item;
  }

  /** The only entry's item, when there is exactly one. */
  only(): T | undefined {
    return this.items.length === 1 ? this.items[0] : undefined;
  }

  /** Empties the list and returns its items, oldest first. */
  clear(): T[] {
    const items = this.items;
    this.ids = [];
    this.items = [];
    return items;
  }
}

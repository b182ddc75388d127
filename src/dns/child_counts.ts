/**
 * How many names exist directly below each name of the zone (owns: the count map the zone's
 * updates change without copying it, RFC 8020's empty non-terminals). A count map is never
 * changed once made: an update makes a new one whose small top layer holds the counts changed
 * since the base, over the base it shares with the maps before it. A top layer grown past
 * an eighth of the base is merged into a new base.
 */
export class ChildCounts implements ReadonlyMap<string, number> {
  private constructor(
    readonly base: ReadonlyMap<string, number>,
    /** Counts changed since the base (0: the name has none below it now). */
    readonly top: ReadonlyMap<string, number>,
    readonly size: number,
  ) {}

  /** The counts of a whole build (`counts` is not changed afterwards). */
  static of(counts: ReadonlyMap<string, number>): ChildCounts {
    return new ChildCounts(counts, new Map(), counts.size);
  }

  get(key: string): number | undefined {
    const t = this.top.get(key);
    if (t === undefined) return this.base.get(key);
    return t === 0 ? undefined : t;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** These counts with `changes` (name → its count now; 0: none), as a new map. */
  with(changes: ReadonlyMap<string, number>): ChildCounts {
    const top = new Map(this.top);
    let size = this.size;
    for (const [key, n] of changes) {
      size += (n > 0 ? 1 : 0) - (this.has(key) ? 1 : 0);
      if (n > 0 || this.base.has(key)) top.set(key, n > 0 ? n : 0);
      else top.delete(key);
    }
    if (top.size > 1024 + (this.base.size >> 3)) {
      return ChildCounts.of(new Map(new ChildCounts(this.base, top, size)));
    }
    return new ChildCounts(this.base, top, size);
  }

  *entries(): MapIterator<[string, number]> {
    for (const e of this.base) if (!this.top.has(e[0])) yield e;
    for (const e of this.top) if (e[1] !== 0) yield e;
  }

  *keys(): MapIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<number> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.entries();
  }

  forEach(fn: (value: number, key: string, map: ReadonlyMap<string, number>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
}

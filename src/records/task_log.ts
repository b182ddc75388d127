/**
 * An insertion-ordered map whose views never change (owns: the tasks of one framework as the
 * record store keeps them, and the frozen views `/v1/enumerate` reads). Values sit in
 * fixed-size chunks; a view holds the chunks as they are, and a chunk a view holds is copied
 * before it is written. So a view costs a copy of the chunk list, and a change after it one
 * chunk, not the whole map (a framework with tens of thousands of tasks, changed many times
 * a second).
 *
 * Order is a Map's: a new key goes at the end, setting a key that is there keeps its place,
 * and a key deleted and set again goes at the end. Deleted places are holes until they
 * outnumber the values; then the chunks are written again without them.
 */

/** Values per chunk: 1 << SHIFT. */
const SHIFT = 9;
const CHUNK = 1 << SHIFT;
const SLOT = CHUNK - 1;

/** `V` excludes undefined (a hole). */

export class TaskLog<V> {
  /** Values by place; undefined: a hole. */
  #values: (V | undefined)[][] = [];
  /** Keys by place, beside `#values` (never in a view). */
  #keys: (string | undefined)[][] = [];
  /** Whether chunk i is this log's own (false: a view holds it; copied before a write). */
  #own: boolean[] = [];
  /** Key → place. */
  #index = new Map<string, number>();
  /** The next place. */
  #end = 0;

  get size(): number {
    return this.#index.size;
  }

  has(key: string): boolean {
    return this.#index.has(key);
  }

  get(key: string): V | undefined {
    const at = this.#index.get(key);
    return at === undefined ? undefined : this.#values[at >>> SHIFT][at & SLOT];
  }

  set(key: string, value: V): this {
    let at = this.#index.get(key);
    if (at === undefined) {
      at = this.#end++;
      this.#index.set(key, at);
      if ((at & SLOT) === 0) {
        this.#values.push([]);
        this.#keys.push([]);
        this.#own.push(true);
      }
    }
    this.#writable(at >>> SHIFT)[at & SLOT] = value;
    this.#keys[at >>> SHIFT][at & SLOT] = key;
    return this;
  }

  delete(key: string): boolean {
    const at = this.#index.get(key);
    if (at === undefined) return false;
    this.#index.delete(key);
    this.#writable(at >>> SHIFT)[at & SLOT] = undefined;
    this.#keys[at >>> SHIFT][at & SLOT] = undefined;
    if (this.#end - this.#index.size > Math.max(CHUNK, this.#index.size)) this.#compact();
    return true;
  }

  /** The keys, in order. */
  *keys(): IterableIterator<string> {
    for (const chunk of this.#keys) {
      for (const k of chunk) if (k !== undefined) yield k;
    }
  }

  /** The values, in order (of the log as it is: see `view` for one that stays). */
  values(): IterableIterator<V> {
    return valuesOf(this.#values);
  }

  /** The values as they are now, never changed by later changes to the log. */
  view(): { values(): IterableIterator<V> } {
    this.#own.fill(false);
    const chunks = this.#values.slice();
    return { values: () => valuesOf(chunks) };
  }

  /** Chunk `c`, copied first if a view holds it. */
  #writable(c: number): (V | undefined)[] {
    if (!this.#own[c]) {
      this.#values[c] = this.#values[c].slice();
      this.#own[c] = true;
    }
    return this.#values[c];
  }

  /** Writes the values again without holes (the views keep the old chunks). */
  #compact(): void {
    const keys = [...this.keys()];
    const values = [...this.values()];
    this.#values = [];
    this.#keys = [];
    this.#own = [];
    this.#index = new Map();
    this.#end = 0;
    for (let i = 0; i < keys.length; i++) this.set(keys[i], values[i]);
  }
}

function* valuesOf<V>(chunks: readonly (readonly (V | undefined)[])[]): IterableIterator<V> {
  for (const chunk of chunks) {
    for (const v of chunk) if (v !== undefined) yield v;
  }
}

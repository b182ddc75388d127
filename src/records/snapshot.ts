/**
 * The published snapshot (owns: the current record set and its SOA serial, swapped
 * whole on each successful state update, plus change notification). DNS and HTTP
 * read `current()`; only the state poller calls `publish`.
 */
import type { RecordSet } from "./record_set.ts";

export interface Snapshot {
  readonly records: RecordSet;
  /** SOA serial: Unix seconds of the successful load (SPEC §4.3). */
  readonly serial: number;
  readonly loadedAt: Date;
  /**
   * The FQDNs (as stored, with the trailing dot) whose records differ from the previous
   * snapshot's; absent: anything may have changed.
   */
  readonly changes?: { readonly names: ReadonlySet<string> };
}

export class SnapshotHolder {
  #current: Snapshot | undefined;
  #listeners: Array<(s: Snapshot) => void> = [];
  /** The least serial of the next publish (see `serialAbove`). */
  #floor = 0;

  /** The last good snapshot, or undefined before the first state has loaded. */
  current(): Snapshot | undefined {
    return this.#current;
  }

  /**
   * Makes `records` the current snapshot, then calls the listeners in subscription order.
   * `beforeListeners` runs in between: the previous snapshot is no longer current, and
   * nothing has been built from the new one yet (the state poller releases memory there).
   */
  publish(
    records: RecordSet,
    now = new Date(),
    beforeListeners?: (s: Snapshot) => void,
    changes?: { readonly names: ReadonlySet<string> },
  ): Snapshot {
    const serial = Math.max(Math.floor(now.getTime() / 1000), (this.#current?.serial ?? 0) + 1, this.#floor);
    const snap: Snapshot = changes
      ? { records, serial, loadedAt: now, changes }
      : { records, serial, loadedAt: now };
    this.#current = snap;
    beforeListeners?.(snap);
    for (const fn of this.#listeners) fn(snap);
    return snap;
  }

  /**
   * Makes every later serial greater than `serial` (e.g. a secondary's serial from an earlier
   * run that published faster than once a second). Serials stay below 2^32.
   */
  serialAbove(serial: number): void {
    if (Number.isInteger(serial) && serial + 1 < 2 ** 32) this.#floor = Math.max(this.#floor, serial + 1);
  }

  /** Calls `fn` after every publish; returns an unsubscribe function. */
  subscribe(fn: (s: Snapshot) => void): () => void {
    this.#listeners.push(fn);
    return () => {
      this.#listeners = this.#listeners.filter((f) => f !== fn);
    };
  }
}

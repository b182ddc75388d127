/**
 * How fresh the served records are (owns: the time of the last good state update and the
 * readiness rule built on it). A state source calls `touch()` whenever it knows the served
 * records match the master: the poller after each published state, an event stream on
 * each event or heartbeat. `/ready` and the `mesos_dns_state_age_seconds` metric read it.
 */

export class StateFreshness {
  #lastGoodAt: number | undefined;
  readonly #now: () => number;

  /** `now`: clock in ms (default `Date.now`). */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The records are known to be current now (a state loaded, or a stream event or heartbeat came). */
  touch(at = this.#now()): void {
    if (this.#lastGoodAt === undefined || at > this.#lastGoodAt) this.#lastGoodAt = at;
  }

  /** Unix ms of the last `touch`, or undefined before the first. */
  get lastGoodAt(): number | undefined {
    return this.#lastGoodAt;
  }

  /** Seconds since the last `touch` (undefined before the first). */
  ageSeconds(): number | undefined {
    const t = this.#lastGoodAt;
    return t === undefined ? undefined : Math.max(0, (this.#now() - t) / 1000);
  }

  /**
   * Whether the records are older than `maxAgeSeconds` (0: never stale). Before the first
   * touch this is false: readiness then waits for the first state, not for its age.
   */
  stale(maxAgeSeconds: number): boolean {
    if (!(maxAgeSeconds > 0)) return false;
    const age = this.ageSeconds();
    return age !== undefined && age > maxAgeSeconds;
  }
}

/** `ReadyMaxAgeSeconds` as seconds: -1 (the default) is 3 × `RefreshSeconds`; 0: never stale. */
export function readyMaxAge(readyMaxAgeSeconds: number, refreshSeconds: number): number {
  return readyMaxAgeSeconds < 0 ? 3 * refreshSeconds : readyMaxAgeSeconds;
}

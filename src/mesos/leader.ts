/**
 * Leader sources (owns: the interface every source implements, and the static one).
 *
 * A source delivers "masters lists" as SPEC §3 defines them: element 0 is the current
 * leader as `host:port` ("" when unknown), elements 1.. are the other known masters.
 * The state poller reloads on every delivered list and every `RefreshSeconds`.
 */

/** Receives each new masters list. */
export type MastersListener = (masters: readonly string[]) => void;

export interface LeaderSource {
  /** Starts detection; `listener` is called for every new list (possibly synchronously). */
  start(listener: MastersListener): void;
  /** Stops detection and releases every connection and timer. */
  close(): Promise<void>;
}

/**
 * A source that hands each list to `also` as well, before its listener (the event stream
 * and the poller both follow the leader).
 */
export class TeeLeaderSource implements LeaderSource {
  constructor(private readonly inner: LeaderSource, private readonly also: MastersListener) {}

  start(listener: MastersListener): void {
    this.inner.start((masters) => {
      this.also(masters);
      listener(masters);
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Static mode (SPEC §3.1): the configured `masters`, first one presumed leader, never changes. */
export class StaticLeaderSource implements LeaderSource {
  constructor(private readonly masters: readonly string[]) {}

  start(listener: MastersListener): void {
    listener([...this.masters]);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * What the running service reports about itself (owns: the `AppStatus` shape that the
 * status page shows, the list of recent errors kept for it, and the registry through which
 * any part adds its own section). The app fills the core fields; a part with more to say
 * (a state stream, a zone transfer peer, a cache) registers a `StatusSection` provider, and
 * its rows appear on the page without touching the page's code.
 */

/** One error kept for the status page. */
export interface StatusError {
  readonly at: Date;
  readonly message: string;
}

/** A part's own section: a title and name/value rows, shown as they are (escaped). */
export interface StatusSection {
  readonly title: string;
  readonly rows: ReadonlyArray<readonly [string, string]>;
}

/** Everything the status page shows besides the records themselves. */
export interface AppStatus {
  readonly version: string;
  readonly startedAt: Date;
  /** The leading master `host:port`, or null when unknown. */
  readonly leader: string | null;
  /** Every known master (the leader first), as the leader source delivered them. */
  readonly masters: readonly string[];
  /** Where the state comes from: a kind (`poll`, `stream`...) and one line of detail. */
  readonly stateSource: { readonly kind: string; readonly detail: string };
  /** Whether `/ready` answers 200 now (a state loaded and not stale); absent: not known. */
  readonly ready?: boolean;
  /** The master the last good state came from. */
  readonly lastFrom: string | null;
  readonly stateReloads: { readonly successes: number; readonly failures: number };
  /** Recent failed state reloads, newest first. */
  readonly stateErrors: readonly StatusError[];
  readonly configReloads: { readonly reloads: number; readonly failures: number; readonly last: Date | null };
  /** Recent failed configuration reloads, newest first. */
  readonly configErrors: readonly StatusError[];
  /** Whether the record listing may be shown (`EnumerationOn`). */
  readonly enumeration: boolean;
  /** Sections added by other parts. */
  readonly sections: readonly StatusSection[];
}

/** The last `limit` errors, newest first. */
export class RecentErrors {
  readonly #list: StatusError[] = [];
  constructor(readonly limit = 5) {}

  add(message: string, at = new Date()): void {
    this.#list.unshift({ at, message });
    if (this.#list.length > this.limit) this.#list.length = this.limit;
  }

  list(): StatusError[] {
    return [...this.#list];
  }
}

/** Where parts register their status sections. */
export class StatusSections {
  readonly #providers: Array<() => StatusSection | undefined> = [];

  /** Adds a provider, called on every page view; returns a function that removes it. */
  add(provider: () => StatusSection | undefined): () => void {
    this.#providers.push(provider);
    return () => {
      const i = this.#providers.indexOf(provider);
      if (i >= 0) this.#providers.splice(i, 1);
    };
  }

  /** The sections now; a provider that throws shows its error instead of breaking the page. */
  collect(): StatusSection[] {
    const out: StatusSection[] = [];
    for (const p of this.#providers) {
      try {
        const s = p();
        if (s) out.push(s);
      } catch (err) {
        out.push({
          title: "status provider failed",
          rows: [["error", err instanceof Error ? err.message : String(err)]],
        });
      }
    }
    return out;
  }
}

/**
 * Pacing of work that follows changes (owns: the rule that work slower than a threshold is
 * followed by a pause as long as it took, times a factor, and that what asks for the work
 * meanwhile waits for the pause's end, once). The zone's updates, the PTR answers and the
 * event stream's deltas use it, so that a fast stream of changes on a large cluster keeps at
 * most a share of the main thread (half with a factor of 1), merging what comes during a pause.
 */
/** Work slower than this is followed by a pause. */
export const PACE_AT_ONCE_MS = 50;
/** The pause after slow work, in multiples of its duration: the work keeps at most half the thread. */
export const PACE_SPACING = 1;

export class WorkPacer {
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The work asked for during the pause (the newest request), run when it ends. */
  #pending: (() => void) | undefined;
  #closed = false;

  /** Work that took longer than `atOnceMs` is followed by a pause of `spacing` times its duration. */
  constructor(readonly atOnceMs: number, readonly spacing: number) {}

  /** Runs `work` now, or at the end of the pause under way (a later request replaces an earlier one). */
  run(work: () => void): void {
    if (this.#timer !== undefined) this.#pending = work;
    else work();
  }

  /** Notes that the work just done took `ms`: slower than `atOnceMs`, a pause follows. */
  took(ms: number): void {
    if (ms <= this.atOnceMs || this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const work = this.#pending;
      this.#pending = undefined;
      work?.();
    }, ms * this.spacing);
  }

  /** Drops the pause under way and what waits for it (the next work runs at once). */
  reset(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = undefined;
  }

  /** Drops the pause and what waits for it, for good. */
  close(): void {
    this.#closed = true;
    this.reset();
  }
}

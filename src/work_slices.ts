/**
 * Long work in steps (owns: running a generator of steps at once, or in slices of wall time
 * with the event loop let through in between). A large state's records and DNS answers are
 * built in steps, so that TCP, HTTP and the main thread's other work go on meanwhile.
 */

/** Runs every step of `steps` at once; returns its result. */
export function runAll<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

const NOTHING = new Uint8Array(0);

/**
 * Lets the event loop run once: I/O (a TCP query, an HTTP request) and timers that are due.
 * An asynchronous op that completes at once (a digest of nothing) costs about 50 µs here;
 * `setTimeout(0)` cost 2 ms (nested timers are clamped), a second of waiting per 500 slices.
 */
export function yieldToEventLoop(): Promise<unknown> {
  return crypto.subtle.digest("SHA-1", NOTHING);
}

/** Runs `steps` in slices of about `sliceMs` of wall time, the event loop let through between two. */
export async function runSliced<T>(steps: Generator<void, T>, sliceMs: number): Promise<T> {
  let end = performance.now() + sliceMs;
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() >= end) {
      await yieldToEventLoop();
      end = performance.now() + sliceMs;
    }
  }
}

/**
 * Waiting helpers for tests (owns: "poll a condition until it holds or a deadline passes").
 * Tests never sleep and hope: they wait for the condition they need, with a deadline that
 * turns a hang into a clear failure.
 */

export interface WaitOptions {
  /** How long to wait before failing (default 5000 ms). */
  timeoutMs?: number;
  /** Pause between two checks (default 10 ms). */
  intervalMs?: number;
  /** Added to the error when the deadline passes, to say what was awaited. */
  message?: string;
}

/**
 * Resolves as soon as `cond()` returns (or resolves to) true; rejects when `timeoutMs`
 * passes first. A condition that throws is treated as "not yet", and its last error is
 * reported if the deadline passes. No timer is left behind either way.
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  opts: WaitOptions = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const intervalMs = opts.intervalMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (true) {
    try {
      if (await cond()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await delay(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const what = opts.message ? `: ${opts.message}` : "";
  const why = lastError === undefined
    ? ""
    : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
  throw new Error(`condition not met within ${timeoutMs} ms${what}${why}`);
}

/** Resolves after `ms` milliseconds (only for pacing the polling loop above). */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

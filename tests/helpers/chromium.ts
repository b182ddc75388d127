/**
 * Headless Chromium for page tests (owns: running Debian's `chromium` on a URL with a
 * fresh profile, as root on a machine without a display or network, and returning the
 * DOM it rendered or writing a screenshot). Every run has a deadline and removes its
 * profile directory.
 */

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function runChromium(args: string[], timeoutMs: number): Promise<string> {
  const profile = await Deno.makeTempDir({ prefix: "chromium-profile-" });
  try {
    const out = await new Deno.Command("chromium", {
      args: [...FLAGS, `--user-data-dir=${profile}`, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
    if (!out.success) {
      throw new Error(`chromium exited ${out.code}: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
    }
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/** The DOM of `url` after it loaded, serialised (`--dump-dom`). */
export function dumpDom(url: string, timeoutMs = 60_000): Promise<string> {
  return runChromium(["--dump-dom", url], timeoutMs);
}

/** Writes a PNG screenshot of `url` at `width`×`height` to `path`. */
export async function screenshot(url: string, path: string, width = 1200, height = 1400, timeoutMs = 60_000) {
  await runChromium([`--window-size=${width},${height}`, `--screenshot=${path}`, url], timeoutMs);
}

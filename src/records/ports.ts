/**
 * Task resource ports (owns: expanding `resources.ports` range text such as
 * `"[31000-31001, 31005-31005]"` into the list of ports, SPEC §4.4 and §10.6).
 */

const INT = /^\+?[0-9]+$/;

/**
 * Expands a Mesos port-ranges string, in order and inclusively. `""`, `"[]"` and
 * non-strings give no ports. The list is the text between the first `[` and the next
 * `]` (the whole text if there are no brackets). An item without `-` is a one-port range
 * (§10.6); an item whose bounds are not integers in 0..65535 is skipped and reported
 * through `onBadItem`.
 */
export function parsePortRanges(text: unknown, onBadItem?: (item: string) => void): number[] {
  if (typeof text !== "string" || text === "" || text === "[]") return [];
  let body = text;
  const open = body.indexOf("[");
  if (open >= 0) {
    body = body.slice(open + 1);
    const nextOpen = body.indexOf("[");
    if (nextOpen >= 0) body = body.slice(0, nextOpen);
  }
  const close = body.indexOf("]");
  if (close >= 0) body = body.slice(0, close);

  const ports: number[] = [];
  for (const raw of body.split(",")) {
    const item = raw.trim();
    const parts = item.split("-");
    const loText = parts[0];
    const hiText = parts.length > 1 ? parts[1] : parts[0];
    if (!INT.test(loText) || !INT.test(hiText)) {
      onBadItem?.(item);
      continue;
    }
    const lo = Number(loText);
    const hi = Number(hiText);
    if (lo > 65535 || hi > 65535) {
      onBadItem?.(item);
      continue;
    }
    for (let p = lo; p <= hi; p++) ports.push(p);
  }
  return ports;
}

/**
 * Zone garbage accounting (owns: how much shared memory the zones replaced hold, and when
 * that is worth a full collection in the UDP workers). A zone's answers live in shared
 * buffers that go back to the system only when every thread that read them has collected
 * its objects over them. A worker's zone objects outlive its young-generation collections,
 * so only a full one frees them; without one per swap, the top layers replaced under a
 * steady stream of changes at 100,000 tasks held 400–600 MB more.
 */
import type { FlatZoneParts } from "./flat_zone.ts";

/** Replaced zones may hold this many bytes of shared memory before a collection is asked for. */
export const ZONE_GARBAGE_BYTES = 64 * 1024 * 1024;

/** The shared buffers a zone's parts are views of. */
export function zoneBuffers(parts: FlatZoneParts): Set<ArrayBufferLike> {
  const out = new Set<ArrayBufferLike>();
  const add = (layer: object) => {
    for (const v of Object.values(layer)) {
      if (ArrayBuffer.isView(v)) out.add(v.buffer);
      else if (v !== null && typeof v === "object" && v !== parts.top) add(v);
    }
  };
  add(parts);
  if (parts.top) add(parts.top);
  return out;
}

/** The bytes of the buffers `previous` reads that `next` does not. */
export function droppedZoneBytes(previous: FlatZoneParts, next: FlatZoneParts): number {
  const kept = zoneBuffers(next);
  let bytes = 0;
  for (const b of zoneBuffers(previous)) if (!kept.has(b)) bytes += b.byteLength;
  return bytes;
}

/**
 * Counts what each zone swap drops; once `limit` bytes have been dropped since the last time,
 * a swap says so.
 */
export class ZoneGarbage {
  #dropped = 0;

  constructor(readonly limit = ZONE_GARBAGE_BYTES) {}

  /** Bytes dropped since the last collection asked for. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Notes a swap from `previous` to `next`; true when a full collection is due (the count starts again). */
  swapped(previous: FlatZoneParts | undefined, next: FlatZoneParts): boolean {
    if (previous === undefined) return false;
    this.#dropped += droppedZoneBytes(previous, next);
    if (this.#dropped < this.limit) return false;
    this.#dropped = 0;
    return true;
  }
}

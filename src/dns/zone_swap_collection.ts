/**
 * The UDP worker's collection after a zone swap (owns: deciding which garbage collection
 * frees the zone a swap replaced). The worker's shared memory goes back only when its own
 * isolate collects the zones it no longer reads.
 */
import type { FlatZone } from "./flat_zone.ts";

/**
 * After this many zone swaps over the same base layer, a swap collects the whole heap
 * (`collectionAfterSwap`): the top layers replaced meanwhile go back then, however few bytes
 * the main thread counted.
 */
export const SWAPS_PER_FULL_COLLECTION = 32;

/**
 * Which collection follows a swap: `full` when the base layer changed (a whole build: the old
 * base's shared memory is most of the zone), when the main thread asks (the top layers
 * replaced since the last one hold `ZONE_GARBAGE_BYTES`) or every `SWAPS_PER_FULL_COLLECTION`
 * swaps; else `young`, which costs 0.1–0.6 ms and clears what the swap itself allocated. The
 * worker's zone objects outlive young-generation collections (measured: RSS grew by a zone per
 * swap with young ones only), so only a full one gives their memory back; it took 3–17 ms at
 * 100,000 tasks while the main thread applied updates, and that worker answered nothing
 * meanwhile. A full one at every swap was the rule before.
 */
export function collectionAfterSwap(
  previous: FlatZone | undefined,
  next: FlatZone | undefined,
  swapsSinceFull: number,
  /** The main thread found that the zones replaced hold much shared memory (`ZoneGarbage`). */
  asked = false,
): "full" | "young" | "none" {
  if (previous === undefined) return "none";
  if (asked || next === undefined || next.baseLayer !== previous.baseLayer) return "full";
  return swapsSinceFull + 1 >= SWAPS_PER_FULL_COLLECTION ? "full" : "young";
}

/**
 * The UDP worker's collection after a zone swap (owns: deciding which garbage collection
 * frees the zone a swap replaced). The worker's shared memory goes back only when its own
 * isolate collects the zones it no longer reads.
 */
import type { FlatZone } from "./flat_zone.ts";

/**
 * After this many zone swaps over the same base layer, a swap collects the whole heap
 * (`collectionAfterSwap`): the top layers of zones that outlived a young-generation
 * collection go back then.
 */
export const SWAPS_PER_FULL_COLLECTION = 32;

/**
 * Which collection frees the zone a swap replaced: `full` when the base layer changed (a
 * whole build: the old base's shared memory is most of the zone), when the main thread asks
 * (the top layers replaced since the last one hold `ZONE_GARBAGE_BYTES`: the worker's zones
 * outlive young-generation collections, so only a full one gives their memory back) or every
 * `SWAPS_PER_FULL_COLLECTION` swaps, else `young`. A swap that only brings a new top layer
 * (every update) replaced objects made at the previous swap, which a young-generation
 * collection frees in well under a millisecond; a full one took 3–17 ms at 100,000 tasks
 * while the main thread applied updates, and the worker answered nothing meanwhile.
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

/**
 * The UDP fast path's worker thread (owns: the loop that waits in `poll` on the DNS
 * socket and a wake-up eventfd, drains the socket with `recvmmsg` in batches, answers
 * plain in-zone queries from the shared flat zone and outside names from the shared
 * forward cache, drops datagrams that are not requests, sends with `sendmmsg`, and hands
 * every other request to the main thread). It never allocates per answered query and
 * has nothing else to do, so a datagram is answered as soon as the kernel wakes it.
 *
 * Messages in: `init` (descriptors, control block, first zone, options) and `zone` (a
 * new flat zone; its generation is also written to the control block before the
 * eventfd is signalled). Messages out: `requests` (requests for the main thread's
 * responder, with the sender's socket address), `send` (replies the socket would not
 * take at once), `failed` (the loop could not start) and `closed`.
 */
/// <reference lib="deno.worker" />
import { FlatZone, type FlatZoneParts } from "./flat_zone.ts";
import { ForwardCache } from "./forward_cache.ts";
import {
  EAGAIN,
  EINTR,
  IOVEC_SIZE,
  MMSGHDR_SIZE,
  MSG_DONTWAIT,
  MSG_LEN,
  MSG_NAMELEN,
  openLibc,
  POLLFD_SIZE,
  POLLIN,
  SOCKADDR_STORAGE_SIZE,
} from "./libc.ts";
import { MmsgBuffers } from "./mmsg_buffers.ts";
import { PlainQuery, scanPlainQuery } from "./query.ts";
import { answerPlain, replyLimit, underApex } from "./zone_reply.ts";
import { HEADER_LEN, OPT_LEN, TYPE_PTR, writeOpt } from "./wire.ts";
import { type ForwardSink, WorkerForwarder } from "./worker_forwarder.ts";
import { cacheNow } from "./forward_cache.ts";
import { CONTROL, HandOffs, type ToMain, type ToWorker, type WorkerInit } from "./udp_ffi_protocol.ts";
import { DnsCounterRegion, PROTO_UDP, SOURCE_FORWARD, SOURCE_ZONE } from "../metrics/dns_counters.ts";
import { AddressSet } from "../net/cidr.ts";
import { ResponseRateLimit, RRL_PASS, RRL_SLIP, slipReply } from "./rate_limit.ts";
import { yieldToEventLoop } from "../work_slices.ts";
import { collectionAfterSwap } from "./zone_swap_collection.ts";

let zone: FlatZone | undefined;
let zoneGeneration = 0;

function post(msg: ToMain): void {
  self.postMessage(msg);
}

/** Posts what `h` packed as one transferred buffer, and empties it. */
function postPacked(kind: "requests" | "send" | "timeouts" | "truncated" | "stores", h: HandOffs): void {
  const count = h.count;
  const data = h.take();
  self.postMessage({ kind, count, data } satisfies ToMain, [data.buffer]);
}

/**
 * SERVFAIL for the request `req` (question read into `q`) into `out`: header, question
 * as asked, and an OPT when the request had one (as the main thread's error replies).
 */
function writeServfail(req: Uint8Array, q: PlainQuery, out: Uint8Array): number {
  for (let i = 0; i < q.qEnd; i++) out[i] = req[i];
  out[2] = 0x80 | (req[2] & 0x78) | (req[2] & 0x01);
  out[3] = (req[3] & 0x10) | 2;
  out[6] =
    out[7] =
    out[8] =
    out[9] =
    out[10] =
      0;
  out[11] = q.edns ? 1 : 0;
  if (!q.edns) return q.qEnd;
  writeOpt(out, q.qEnd, 0, q.edns.dnssecOk);
  return q.qEnd + OPT_LEN;
}

/** The running init message; a zone message updates its `plain` and `setTC` (a configuration reload). */
let settings: WorkerInit | undefined;
/** Forwards outside names from this worker (its first attempt), when the plan allows. */
let forwarder: WorkerForwarder | undefined;

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.kind === "zone") {
    const previous = zone;
    zone = msg.zone ? new FlatZone(msg.zone) : undefined;
    zoneGeneration = msg.generation;
    if (settings) {
      settings.plain = msg.plain;
      settings.setTC = msg.setTC;
      settings.forward = msg.forward;
      forwarder?.setPlan(msg.forward);
    }
    releaseOldZones(previous, zone, msg.collect);
  } else if (msg.kind === "init") {
    settings = msg;
    zone = msg.zone ? new FlatZone(msg.zone as FlatZoneParts) : undefined;
    zoneGeneration = msg.generation;
    run(msg).catch((err) => post({ kind: "failed", error: String(err?.stack ?? err) }));
  }
};

/** Zone swaps since this worker last collected its whole heap. */
let swapsSinceFull = 0;

/**
 * Frees the zones this worker no longer reads. Their shared memory goes back only when
 * this isolate collects them, and a worker that allocates nothing would hardly ever
 * collect: a collection after each zone swap (`collectionAfterSwap`). With `--expose-gc`
 * (the start task and the binary) it is asked for directly; without it, a large
 * short-lived allocation makes V8 collect (only where a full collection is due).
 */
function releaseOldZones(previous: FlatZone | undefined, next: FlatZone | undefined, asked: boolean): void {
  const kind = collectionAfterSwap(previous, next, swapsSinceFull, asked);
  if (kind === "none") return;
  swapsSinceFull = kind === "full" ? 0 : swapsSinceFull + 1;
  const gc = (globalThis as { gc?: (options?: { type: string }) => void }).gc;
  if (typeof gc !== "function") {
    if (kind === "full") nudgeCollector();
  } else if (kind === "full") {
    gc();
  } else {
    try {
      gc({ type: "minor" });
    } catch {
      gc(); // a V8 without that option
    }
  }
}

function nudgeCollector(): void {
  try {
    // Above V8's external-memory limit (64 MB); zero pages from calloc, never touched.
    let junk: ArrayBuffer | undefined = new ArrayBuffer(96 * 1024 * 1024);
    junk = undefined;
    void junk;
  } catch { /* no room for it: the collector runs on its own later */ }
}

async function run(init: WorkerInit): Promise<void> {
  const libc = openLibc();
  const b = new MmsgBuffers(libc, init.batch);
  const control = init.control;
  const errno = new Deno.UnsafePointerView(libc.symbols.__errno_location()!);
  const pfds = new Uint8Array(4 * POLLFD_SIZE);
  const pdv = new DataView(pfds.buffer);
  pdv.setInt32(0, init.fd, true);
  pdv.setInt16(4, POLLIN, true);
  pdv.setInt32(POLLFD_SIZE, init.eventFd, true);
  pdv.setInt16(POLLFD_SIZE + 4, POLLIN, true);
  pdv.setInt16(2 * POLLFD_SIZE + 4, POLLIN, true);
  pdv.setInt16(3 * POLLFD_SIZE + 4, POLLIN, true);
  const fwd = new WorkerForwarder(libc);
  forwarder = fwd;
  fwd.setPlan(init.forward);
  const counter = new Uint8Array(8);
  const q = new PlainQuery();
  const cache = init.cache ? new ForwardCache(init.cache, init.thread) : undefined;
  const { u8, dv } = b;
  let queued = 0;
  // Requests for the main thread, and replies it must send, posted once per wake-up.
  const requests = new HandOffs();
  const sends = new HandOffs();
  const timeouts = new HandOffs();
  const truncated = new HandOffs();
  const stores = new HandOffs();
  const none = new Uint8Array(0);
  let lastExpire = 0;
  /** Replies relayed here from the worker's own upstream queries in this wake-up. */
  let relayed = 0;
  const sink: ForwardSink = {
    reply(data, len, reqs, reqAt, reqLen, addrAt, addrLen, qtype, sentAt) {
      // The upstream's reply as it is, with the client's ID, to the client.
      const out = b.sSlots[queued];
      for (let k = 2; k < len; k++) out[k] = data[k];
      out[0] = reqs[reqAt];
      out[1] = reqs[reqAt + 1];
      if (!settings!.setTC) out[2] &= ~0x02;
      const at = b.sName + queued * SOCKADDR_STORAGE_SIZE;
      for (let k = 0; k < addrLen; k++) u8[at + k] = fwd.addrs[addrAt + k];
      dv.setUint32(b.sIov + queued * IOVEC_SIZE + 8, len, true);
      dv.setUint32(b.sMsg + queued * MMSGHDR_SIZE + MSG_NAMELEN, addrLen, true);
      if (cache) {
        stores.add(reqs.subarray(reqAt, reqAt + reqLen), reqLen, none);
        stores.add(out, len, none);
      }
      relayed++;
      if (counters) {
        counters.query(PROTO_UDP, qtype, out[3] & 0x0f);
        // From the query's arrival (its send upstream) to now, on the cache's clock.
        counters.latency(PROTO_UDP, Math.round((cacheNow() - sentAt) * 1000));
      }
      if (++queued === b.batch) flush();
    },
    timedOut(reqs, reqAt, reqLen, addrAt, addrLen) {
      timeouts.add(
        reqs.subarray(reqAt, reqAt + reqLen),
        reqLen,
        fwd.addrs.subarray(addrAt, addrAt + addrLen),
      );
    },
    truncated(data, len, reqs, reqAt, reqLen, addrAt, addrLen) {
      truncated.add(
        reqs.subarray(reqAt, reqAt + reqLen),
        reqLen,
        fwd.addrs.subarray(addrAt, addrAt + addrLen),
      );
      truncated.add(data, len, none);
    },
  };
  let failures = 0;
  // This worker's query counters (its own region: plain increments, summed on scrape).
  const counters = init.counters ? new DnsCounterRegion(init.counters, init.counterRegion) : undefined;
  const rrl = init.rateLimit ? new ResponseRateLimit(init.rateLimit) : undefined;
  const allow = init.forwardAllow ? new AddressSet(init.forwardAllow) : undefined;
  /** Replies answered here in this wake-up (from the forward cache), and its second (for the rate limit). */
  let answered = 0;
  let fromCache = 0;
  let second = 0;
  /** The wake-up's start (`performance.now()`), in a typed array so it is never boxed. */
  const clock = new Float64Array(1);

  const flush = () => {
    const count = queued;
    queued = 0;
    let k = 0;
    while (k < count) {
      const r = libc.symbols.sendmmsg(init.fd, b.sMsgPtrs[k], count - k, 0);
      if (r > 0) {
        k += r;
        continue;
      }
      const e = errno.getInt32();
      if (e === EINTR) continue;
      if (e === EAGAIN) {
        // The send buffer is full: the main thread sends these when there is room.
        const h = b.sMsg + k * MMSGHDR_SIZE;
        const name = b.sName + k * SOCKADDR_STORAGE_SIZE;
        const len = dv.getUint32(b.sIov + k * IOVEC_SIZE + 8, true);
        sends.add(b.sSlots[k], len, u8.subarray(name, name + dv.getUint32(h + MSG_NAMELEN, true)));
      }
      k++;
    }
    if (sends.count > 0) postPacked("send", sends);
  };

  const drain = () => {
    const z = zone;
    for (let turn = 0; turn < init.maxBatches; turn++) {
      const n = libc.symbols.recvmmsg(init.fd, b.rMsgPtr, b.batch, MSG_DONTWAIT, null);
      if (n <= 0) return;
      Atomics.add(control, CONTROL.batches, 1);
      Atomics.add(control, CONTROL.batched, n);
      for (let i = 0; i < n; i++) {
        const h = b.rMsg + i * MMSGHDR_SIZE;
        const len = dv.getUint32(h + MSG_LEN, true);
        const nameLen = dv.getUint32(h + MSG_NAMELEN, true);
        dv.setUint32(h + MSG_NAMELEN, SOCKADDR_STORAGE_SIZE, true);
        const req = b.rSlots[i];
        const name = b.rName + i * SOCKADDR_STORAGE_SIZE;
        // Not a request (too short, or a response): nobody would answer it.
        if (len < HEADER_LEN || (req[2] & 0x80) !== 0) {
          Atomics.add(control, CONTROL.junk, 1);
          continue;
        }
        let reply = -1;
        let cached = false;
        if ((z || cache) && scanPlainQuery(req, len, q)) {
          try {
            if (z && init.plain) reply = answerPlain(z, req, q, false, init.setTC, b.sSlots[queued]);
            // Cached forwarded answers only for `ForwardAllow` clients (others: REFUSED by the main thread).
            if (reply < 0 && cache && (!allow || allow.hasSockaddr(u8, name))) {
              reply = cache.answer(req, q, q.hash, replyLimit(false, q.edns), b.sSlots[queued]);
              cached = reply >= 0;
            }
            const plan = settings!.forward;
            if (
              reply < 0 && plan && fwd.enabled && (!allow || allow.hasSockaddr(u8, name)) &&
              !(plan.ptr && q.qtype === TYPE_PTR) && !underApex(plan.apex, req, q.qnameEnd)
            ) {
              // A name outside the domain: the worker asks the first upstream itself.
              const sent = fwd.forward(
                req,
                len,
                q.qEnd,
                replyLimit(false, q.edns),
                u8,
                name,
                nameLen,
                cacheNow(),
              );
              if (sent > 0) {
                cache?.countMiss();
                continue;
              }
              // Too many queries in flight in the process: SERVFAIL now, as the main thread would.
              if (sent < 0) reply = writeServfail(req, q, b.sSlots[queued]);
            }
          } catch {
            // A fault here must not stop the loop: the main thread answers this one.
            reply = -1;
          }
        }
        if (reply < 0) {
          // Bounded: under a flood of what only the main thread answers, the rest is dropped.
          if (Atomics.load(control, CONTROL.handedOver) + requests.count >= init.maxHandedOver) {
            Atomics.add(control, CONTROL.dropped, 1);
          } else {
            requests.add(req, len, u8.subarray(name, name + nameLen));
          }
          continue;
        }
        if (rrl) {
          const verdict = rrl.check(u8, name, second);
          if (verdict !== RRL_PASS) {
            if (verdict !== RRL_SLIP) {
              counters?.rateLimitDropped();
              continue;
            }
            reply = slipReply(b.sSlots[queued], reply);
            counters?.rateLimitSlipped();
          }
        }
        if (counters) counters.query(PROTO_UDP, q.qtype, b.sSlots[queued][3]);
        answered++;
        if (cached) fromCache++;
        u8.copyWithin(b.sName + queued * SOCKADDR_STORAGE_SIZE, name, name + nameLen);
        dv.setUint32(b.sIov + queued * IOVEC_SIZE + 8, reply, true);
        dv.setUint32(b.sMsg + queued * MMSGHDR_SIZE + MSG_NAMELEN, nameLen, true);
        if (++queued === b.batch) flush();
      }
      if (n < b.batch) return;
    }
  };

  try {
    post({ kind: "started" });
    while (Atomics.load(control, CONTROL.closing) === 0) {
      pdv.setInt32(2 * POLLFD_SIZE, fwd.fds[0], true);
      pdv.setInt32(3 * POLLFD_SIZE, fwd.fds[1], true);
      const r = libc.symbols.poll(pfds, 4n, fwd.pending > 0 ? 20 : -1);
      if (r < 0) {
        if (errno.getInt32() !== EINTR && ++failures > 3) await new Promise((res) => setTimeout(res, 10));
        continue;
      }
      failures = 0;
      if (pdv.getInt16(POLLFD_SIZE + 6, true) !== 0) {
        libc.symbols.read(init.eventFd, counter, 8n);
        // A new zone or the close: let the event loop deliver what was posted (already queued;
        // a yield costs about 50 µs, where `setTimeout(0)` cost 2 ms: queries wait meanwhile).
        const until = performance.now() + 2000;
        while (zoneGeneration !== Atomics.load(control, CONTROL.generation) && performance.now() < until) {
          await yieldToEventLoop();
        }
        if (Atomics.load(control, CONTROL.closing) !== 0) break;
      }
      clock[0] = performance.now();
      second = Math.floor(clock[0] / 1000);
      answered = 0;
      fromCache = 0;
      relayed = 0;
      if (pdv.getInt16(6, true) !== 0) {
        Atomics.add(control, CONTROL.wakes, 1);
        drain();
      }
      for (let s = 0; s < 2; s++) {
        if (fwd.fds[s] >= 0 && pdv.getInt16((2 + s) * POLLFD_SIZE + 6, true) !== 0) fwd.receive(s, sink);
      }
      if (fwd.pending > 0) {
        const now = cacheNow();
        if (now - lastExpire >= 10) {
          lastExpire = now;
          fwd.expire(now, sink);
        }
      }
      flush();
      if (counters && answered + relayed > 0) {
        // Time per wake-up: from the first datagram read to the last reply sent (an upper
        // bound for each of its replies), so the clock is read twice per wake-up, not per query.
        counters.source(SOURCE_ZONE, answered - fromCache);
        if (fromCache + relayed > 0) counters.source(SOURCE_FORWARD, fromCache + relayed);
        counters.latency(PROTO_UDP, Math.round((performance.now() - clock[0]) * 1000), answered);
      }
      if (requests.count > 0) {
        Atomics.add(control, CONTROL.handedOver, requests.count);
        postPacked("requests", requests);
      }
      if (timeouts.count > 0) {
        Atomics.add(control, CONTROL.handedOver, timeouts.count);
        postPacked("timeouts", timeouts);
      }
      if (truncated.count > 0) postPacked("truncated", truncated);
      if (stores.count > 0) postPacked("stores", stores);
    }
  } finally {
    fwd.close();
    forwarder = undefined;
    b.free();
    libc.close();
    post({ kind: "closed" });
  }
}

/**
 * Our HTTP/1.1 client (src/net/http1_client.ts) against raw TCP servers that answer exactly
 * the bytes each case needs: Content-Length, chunked (split anywhere) and close-delimited
 * bodies, a body cut short, a non-HTTP answer, abort, and the ports `fetch` refuses.
 */
import assert from "node:assert/strict";
import { fetchFor, http1Fetch, http1Request, isFetchBadPort } from "../src/net/http1_client.ts";

/** A one-shot server: reads the request head, then writes `pieces` (with pauses) and closes. */
function rawServer(pieces: string[], opts: { keepOpen?: boolean } = {}) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: string[] = [];
  const done = (async () => {
    {
      const conn = await listener.accept();
      const buf = new Uint8Array(65536);
      let head = "";
      while (!head.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        if (n === null) break;
        head += new TextDecoder().decode(buf.subarray(0, n));
      }
      requests.push(head);
      try {
        for (const p of pieces) {
          await conn.write(new TextEncoder().encode(p));
          await new Promise((r) => setTimeout(r, 2));
        }
        if (opts.keepOpen) await conn.read(buf).catch(() => null);
      } catch { /* client went away */ }
      try {
        conn.close();
      } catch { /* closed */ }
    }
  })().catch(() => {});
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}/api/v1?x=1`,
    requests,
    async close() {
      try {
        listener.close();
      } catch { /* closed */ }
      await done;
    },
  };
}

async function text(res: { body: ReadableStream<Uint8Array> }): Promise<string> {
  return await new Response(res.body).text();
}

Deno.test("http1: Content-Length, chunked split anywhere, and close-delimited bodies", async () => {
  const cl = rawServer(["HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhel", "lo"]);
  const res = await http1Request({
    method: "POST",
    url: cl.url,
    body: '{"type":"SUBSCRIBE"}',
    headers: { "Content-Type": "application/json" },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-a"), "1");
  assert.equal(await text(res), "hello");
  await cl.close();
  assert.match(cl.requests[0], /^POST \/api\/v1\?x=1 HTTP\/1\.1\r\n/);
  assert.match(cl.requests[0], /\r\ncontent-length: 20\r\n/i);
  assert.match(cl.requests[0], /\r\nhost: 127\.0\.0\.1:\d+\r\n/i);

  const chunked = rawServer([
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab",
    "cd\r",
    "\n6;ext=1\r\n",
    "efghij\r\n0\r\n",
    "Trailer: x\r\n\r\n",
  ]);
  assert.equal(await text(await http1Request({ url: chunked.url })), "abcdefghij");
  await chunked.close();

  const untilClose = rawServer(["HTTP/1.0 200 OK\r\n\r\nuntil", " close"]);
  assert.equal(await text(await http1Request({ url: untilClose.url })), "until close");
  await untilClose.close();

  const interim = rawServer([
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 307 Temporary Redirect\r\nLocation: //h:1/api/v1\r\nContent-Length: 0\r\n\r\n",
  ]);
  const r307 = await http1Request({ url: interim.url });
  assert.equal(r307.status, 307);
  assert.equal(r307.headers.get("location"), "//h:1/api/v1");
  await interim.close();
});

Deno.test("http1: a body cut short and a non-HTTP answer are errors", async () => {
  const cut = rawServer(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"]);
  await assert.rejects(
    text(await http1Request({ url: cut.url })),
    /5 body bytes missing|7 body bytes missing/,
  );
  await cut.close();
  const cutChunk = rawServer(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc"]);
  await assert.rejects(text(await http1Request({ url: cutChunk.url })), /middle of a chunk/);
  await cutChunk.close();
  const junk = rawServer(["\x16\x03\x01 not http at all\r\n\r\n"]);
  await assert.rejects(http1Request({ url: junk.url }), /invalid HTTP version parsed/);
  await junk.close();
});

Deno.test("http1: abort ends a waiting request and a body being read", async () => {
  const hang = rawServer([], { keepOpen: true });
  const ac = new AbortController();
  const p = http1Request({ url: hang.url, signal: ac.signal });
  setTimeout(() => ac.abort(new Error("stop now")), 20);
  await assert.rejects(p, /stop now/);
  await hang.close();

  const stream = rawServer(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"], {
    keepOpen: true,
  });
  const ac2 = new AbortController();
  const res = await http1Request({ url: stream.url, signal: ac2.signal });
  const reader = res.body.getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value), "abc");
  const next = reader.read();
  ac2.abort(new Error("heartbeat missed"));
  await assert.rejects(next, /heartbeat missed/);
  await stream.close();
});

Deno.test("http1: connection refused reads as fetch's; fetchFor routes only the ports fetch refuses", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await assert.rejects(http1Request({ url: `http://127.0.0.1:${port}/` }), /connection refused/i);

  assert.equal(isFetchBadPort(new URL("http://h:6000/")), true);
  assert.equal(isFetchBadPort(new URL("http://h:6667/")), true);
  assert.equal(isFetchBadPort(new URL("http://h:5050/")), false);
  assert.equal(isFetchBadPort(new URL("http://h/")), false);
  // fetch itself refuses port 6000 (why this client exists).
  await assert.rejects(fetch("http://127.0.0.1:6000/"), (e: Error) => !/connection refused/i.test(e.message));
  const seen: string[] = [];
  const base = ((input: string | URL | Request) => {
    seen.push(String(input));
    return Promise.resolve(new Response("base"));
  }) as typeof fetch;
  const routed = fetchFor(base);
  assert.equal(await (await routed("http://127.0.0.1:5050/x")).text(), "base");
  await assert.rejects(routed("http://127.0.0.1:6000/x"), (e: Error) => e !== undefined);
  assert.deepEqual(seen, ["http://127.0.0.1:5050/x"]);

  const ok = rawServer(["HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"]);
  const res = await http1Fetch()(ok.url, { method: "GET" });
  assert.equal(res.status, 404);
  assert.equal(res.statusText, "Not Found");
  assert.equal(await res.text(), "not found");
  await ok.close();
});

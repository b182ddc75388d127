/**
 * The status page at `GET /`, as an operator sees it: a real mesos-dns process fed by the
 * simulator (a fixture), a state reload that fails and a configuration reload that fails,
 * then headless Chromium renders the page: the DOM shows the leader, the counts, both
 * errors, and a task name found through `?q=`; a hostile query is shown escaped. A
 * screenshot is written (STATUS_PAGE_SCREENSHOT=path keeps it for a look). Plus the
 * renderer's own rules (escaping, the row limit, search over names and values).
 */
import assert from "node:assert/strict";
import { startSimulator } from "../scripts/sim/master_server.ts";
import { escapeHtml, renderStatusPage, searchRecords } from "../src/http/status_page.ts";
import { RecordSetBuilder } from "../src/records/record_set.ts";
import { SnapshotHolder } from "../src/records/snapshot.ts";
import type { AppStatus } from "../src/status.ts";
import { dumpDom, screenshot } from "./helpers/chromium.ts";
import { startMesosDns } from "./helpers/mesos_dns_process.ts";
import { waitFor } from "./helpers/wait.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

/** The text of the DOM without tags (entities kept as Chromium serialised them). */
function textOf(dom: string): string {
  return dom.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ");
}

Deno.test("status page in Chromium: leader, counts, state and config errors, ?q= search, escaping", async () => {
  const sim = await startSimulator({ file: `${FIXTURES}mesos-dns-fake.json`, rewriteLeader: true });
  const dir = await Deno.makeTempDir();
  const file = `${dir}/config.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      masters: [sim.masters[0]],
      listener: "127.0.0.1",
      port: 0,
      httplistener: "127.0.0.1",
      httpport: 0,
      externalon: false,
      refreshSeconds: 1,
      // Failed /master/state reloads are shown below (the event stream would not poll).
      stateSource: "poll",
    }),
  );
  const proc = await startMesosDns([`-config=${file}`]);
  try {
    await proc.waitReady();
    const base = `http://127.0.0.1:${proc.httpPort}`;
    const page = async (q?: string) => {
      const res = await fetch(q === undefined ? `${base}/` : `${base}/?q=${encodeURIComponent(q)}`);
      return await res.text();
    };

    // A failed state reload (the master answers 500), then recovery.
    sim.setFault(0, "http500");
    await waitFor(async () => /state fetch failed/.test(await page()), {
      timeoutMs: 10_000,
      message: "the state error never showed",
    });
    sim.setFault(0, null);
    // A failed configuration reload (bad value), named by key.
    await Deno.writeTextFile(file, JSON.stringify({ masters: [sim.masters[0]], refreshSeconds: -5 }));
    proc.signal("SIGHUP");
    await waitFor(async () => (await page()).includes("RefreshSeconds"), {
      timeoutMs: 10_000,
      message: "the configuration error never showed",
    });

    const dom = await dumpDom(`${base}/?q=nginx`);
    const text = textOf(dom);
    assert.match(text, new RegExp(`leader ${sim.masters[0].replace(/\./g, "\\.")}`), "the leader is shown");
    assert.match(text, /source poll: the leader's \/master\/state every 1 s/);
    assert.match(text, /SOA serial \d{10}/);
    assert.match(text, /ready \(\/ready\) yes/);
    assert.match(
      text,
      new RegExp(
        `Listeners DNS 127\\.0\\.0\\.1:${proc.dnsPort}, UDP and TCP \\(UDP engine: (ffi|portable)\\)`,
      ),
    );
    assert.match(text, /A 50 58 AAAA 6 6 SRV 48 84/, "record counts by type");
    assert.match(text, /state fetch failed: .*500/, "the failed state reload with its time");
    assert.match(text, /reloads \(SIGHUP\) 1, 1 failed/);
    assert.match(text, /RefreshSeconds.*-5/, "the configuration error names the key");
    assert.match(text, /4 names matching “nginx”/);
    assert.match(
      dom,
      /<td class="mono">nginx\.marathon\.mesos\.<\/td><td>A<\/td><td class="mono">10\.3\.0\.3<\/td>/,
    );
    assert.ok(!dom.includes("leader.mesos."), "rows that do not match are not shown");

    const hostile = await dumpDom(
      `${base}/?q=${encodeURIComponent('"><script>document.title="owned"</script>')}`,
    );
    assert.ok(!/<script/i.test(hostile), "no script element made it into the page");
    assert.match(hostile, /<title>mesos-dns status<\/title>/);
    assert.match(hostile, /0 names matching “"&gt;&lt;script&gt;/);

    const png = Deno.env.get("STATUS_PAGE_SCREENSHOT") ?? `${dir}/status.png`;
    await screenshot(`${base}/?q=nginx`, png);
    const bytes = await Deno.readFile(png);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG");
    assert.ok(bytes.length > 20_000, `the screenshot has content (${bytes.length} bytes)`);
  } finally {
    await proc.stop();
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
});

function fakeStatus(overrides: Partial<AppStatus> = {}): AppStatus {
  return {
    version: "0.1.0",
    startedAt: new Date(0),
    leader: "10.0.0.1:5050",
    masters: ["10.0.0.1:5050", "10.0.0.2:5050"],
    stateSource: { kind: "poll", detail: "every 60 s" },
    lastFrom: "10.0.0.1:5050",
    stateReloads: { successes: 3, failures: 1 },
    stateErrors: [{ at: new Date(1000), message: "state fetch failed: <b>bad</b> & worse" }],
    configReloads: { reloads: 0, failures: 0, last: null },
    configErrors: [],
    enumeration: true,
    sections: [{ title: "Event <stream>", rows: [["state", "connected 'now'"]] }],
    ...overrides,
  };
}

Deno.test("status page renderer: everything escaped, rows limited with the count, search on names and values", () => {
  const b = new RecordSetBuilder("mesos");
  for (let i = 0; i < 300; i++) b.add("A", `web-${i}.marathon.mesos.`, `10.0.${i >> 8}.${i & 255}`);
  b.add("A", "<img src=x>.mesos.", "10.9.9.9");
  b.add("SRV", "_web._tcp.marathon.mesos.", "web-1.marathon.mesos.:31000");
  const snap = new SnapshotHolder().publish(b.build(null), new Date(5000));
  const html = renderStatusPage(fakeStatus(), snap, "web", new Date(65_000), 50);
  assert.match(html, /301 names matching “web”, the first 50 shown\./);
  assert.equal(html.split('class="records"')[1].match(/<tr><td/g)?.length, 50);
  assert.ok(html.includes("state fetch failed: &lt;b&gt;bad&lt;/b&gt; &amp; worse"));
  assert.ok(html.includes("Event &lt;stream&gt;") && html.includes("connected &#39;now&#39;"));
  assert.ok(!html.includes("<b>bad"));
  assert.ok(html.includes("(1 min 0 s ago)"), "the records' age");
  assert.ok(html.includes("10.0.0.2:5050"), "the other masters");

  const byValue = searchRecords(snap.records, "10.9.9.9");
  assert.deepEqual(byValue.rows.map((r) => r.name), ["<img src=x>.mesos."]);
  const all = renderStatusPage(fakeStatus(), snap, "", new Date(65_000));
  assert.ok(all.includes("&lt;img src=x&gt;.mesos.") && !all.includes("<img"));
  assert.match(all, /302 names, the first 200 shown/);

  const off = renderStatusPage(fakeStatus({ enumeration: false }), snap, "web");
  assert.ok(!off.includes("web-1.marathon") && off.includes("EnumerationOn"));
  const none = renderStatusPage(fakeStatus({ leader: null, masters: [] }), undefined, "");
  assert.match(none, /leader<\/th><td>unknown/);
  assert.match(none, /no state loaded yet/);
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
});

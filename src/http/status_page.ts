/**
 * The HTML status page at `GET /` (owns: turning an `AppStatus` and the current snapshot
 * into one plain HTML page — leader and masters, where the state comes from, the records'
 * age and serial, counts by type, recent state and configuration reload errors, the other
 * parts' sections, and a table of names → records filtered by `?q=` on the server). No
 * script, no external asset; every value is escaped. Pure: status, snapshot, query and
 * clock in, text out.
 */
import type { RecordSet } from "../records/record_set.ts";
import type { Snapshot } from "../records/snapshot.ts";
import type { AppStatus, StatusError, StatusSection } from "../status.ts";

/** Rows of the records table shown at most. */
export const STATUS_TABLE_LIMIT = 200;

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;",
  );
}

/** `12 s`, `5 min 3 s`, `2 h 10 min`, `3 d 4 h`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** One row of the records table: a name, a type and its values. */
export interface RecordRow {
  name: string;
  type: "A" | "AAAA" | "SRV";
  values: readonly string[];
}

/**
 * The rows whose name or any value contains `query` (case-insensitive; empty: every row),
 * sorted by name then type; `rows` holds at most `limit`, `matched` counts them all.
 */
export function searchRecords(
  records: RecordSet,
  query: string,
  limit = STATUS_TABLE_LIMIT,
): { rows: RecordRow[]; matched: number } {
  const q = query.trim().toLowerCase();
  // The first `limit` rows in order, kept sorted as they come (no sort of every match:
  // a large cluster has hundreds of thousands of names, and this runs on the main thread).
  const best: RecordRow[] = [];
  let matched = 0;
  for (const [type, map] of [["A", records.a], ["AAAA", records.aaaa], ["SRV", records.srv]] as const) {
    for (const [name, values] of map) {
      if (q !== "" && !name.toLowerCase().includes(q) && !values.some((v) => v.toLowerCase().includes(q))) {
        continue;
      }
      matched++;
      const row = { name, type, values };
      if (best.length === limit && compareRows(row, best[limit - 1]) >= 0) continue;
      let lo = 0;
      let hi = best.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareRows(best[mid], row) <= 0) lo = mid + 1;
        else hi = mid;
      }
      best.splice(lo, 0, row);
      if (best.length > limit) best.pop();
    }
  }
  return { rows: best, matched };
}

function compareRows(x: RecordRow, y: RecordRow): number {
  return x.name < y.name ? -1 : x.name > y.name ? 1 : x.type < y.type ? -1 : x.type > y.type ? 1 : 0;
}

function countOf(map: ReadonlyMap<string, readonly string[]>): { names: number; records: number } {
  let records = 0;
  for (const v of map.values()) records += v.length;
  return { names: map.size, records };
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:70em}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em;border-bottom:1px solid #ccc}
table{border-collapse:collapse}th,td{text-align:left;padding:.2em .8em .2em 0;vertical-align:top}
th{font-weight:600}td.n{text-align:right}code,.mono{font-family:ui-monospace,monospace}
.ok{color:#070}.bad{color:#b00}.muted{color:#666}input[type=search]{width:24em}
table.records td,table.records th{border-bottom:1px solid #eee}`;

function kv(rows: ReadonlyArray<readonly [string, string]>): string {
  return `<table>${
    rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join("")
  }</table>`;
}

function errorList(errors: readonly StatusError[], now: Date, none: string): string {
  if (errors.length === 0) return `<p class="ok">${escapeHtml(none)}</p>`;
  return `<table>${
    errors.map((e) =>
      `<tr><td class="mono">${escapeHtml(e.at.toISOString())}</td><td class="muted">${
        escapeHtml(formatAge(now.getTime() - e.at.getTime()))
      } ago</td><td class="bad">${escapeHtml(e.message)}</td></tr>`
    ).join("")
  }</table>`;
}

function section(s: StatusSection): string {
  return `<h2>${escapeHtml(s.title)}</h2>${kv(s.rows)}`;
}

function recordsTable(records: RecordSet, query: string, limit: number): string {
  const { rows, matched } = searchRecords(records, query, limit);
  const what = query.trim() === "" ? "names" : `names matching “${escapeHtml(query.trim())}”`;
  const shown = matched > rows.length ? `, the first ${rows.length} shown` : "";
  let html = `<p id="matched">${matched} ${what}${shown}.</p>`;
  if (rows.length > 0) {
    html += `<table class="records"><tr><th>Name</th><th>Type</th><th>Records</th></tr>${
      rows.map((r) =>
        `<tr><td class="mono">${escapeHtml(r.name)}</td><td>${r.type}</td><td class="mono">${
          r.values.map(escapeHtml).join("<br>")
        }</td></tr>`
      ).join("")
    }</table>`;
  }
  return html;
}

/** The whole page. `query` is the `q` parameter ("" when absent). */
export function renderStatusPage(
  status: AppStatus,
  snapshot: Snapshot | undefined,
  query: string,
  now = new Date(),
  limit = STATUS_TABLE_LIMIT,
): string {
  const parts: string[] = [];
  parts.push(
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>mesos-dns status</title><style>${STYLE}</style></head><body>`,
    `<h1>mesos-dns ${escapeHtml(status.version)}</h1>`,
    `<p class="muted">up ${escapeHtml(formatAge(now.getTime() - status.startedAt.getTime()))}, page made ${
      escapeHtml(now.toISOString())
    }</p>`,
  );

  parts.push(`<h2>Masters</h2>`);
  const masterRows: Array<[string, string]> = [["leader", status.leader ?? "unknown"]];
  const others = status.masters.filter((m, i) => !(i === 0 && m === status.leader) && m !== "");
  masterRows.push(["masters", others.length > 0 ? others.join(", ") : "none besides the leader"]);
  parts.push(kv(masterRows));

  parts.push(`<h2>State</h2>`);
  const stateRows: Array<[string, string]> = [
    ["source", `${status.stateSource.kind}: ${status.stateSource.detail}`],
    ["last state from", status.lastFrom ?? "none yet"],
  ];
  if (status.ready !== undefined) {
    stateRows.push([
      "ready (/ready)",
      status.ready ? "yes" : "no: no state loaded yet, or the records are stale",
    ]);
  }
  if (snapshot) {
    stateRows.push(
      ["SOA serial", String(snapshot.serial)],
      [
        "records loaded",
        `${snapshot.loadedAt.toISOString()} (${formatAge(now.getTime() - snapshot.loadedAt.getTime())} ago)`,
      ],
    );
  } else {
    stateRows.push(["records", "no state loaded yet"]);
  }
  stateRows.push([
    "state reloads",
    `${status.stateReloads.successes} good, ${status.stateReloads.failures} failed`,
  ]);
  parts.push(kv(stateRows));

  if (snapshot) {
    const r = snapshot.records;
    parts.push(
      `<h2>Records by type</h2><table><tr><th>Type</th><th>Names</th><th>Records</th></tr>`,
      ...([["A", r.a], ["AAAA", r.aaaa], ["SRV", r.srv]] as const).map(([t, m]) => {
        const c = countOf(m);
        return `<tr><td>${t}</td><td class="n">${c.names}</td><td class="n">${c.records}</td></tr>`;
      }),
      `</table>`,
    );
  }

  parts.push(`<h2>Recent state reload errors</h2>`, errorList(status.stateErrors, now, "none"));
  parts.push(
    `<h2>Configuration reloads</h2>`,
    kv([[
      "reloads (SIGHUP)",
      `${status.configReloads.reloads}, ${status.configReloads.failures} failed${
        status.configReloads.last ? `, last ${status.configReloads.last.toISOString()}` : ""
      }`,
    ]]),
    errorList(status.configErrors, now, "no configuration reload errors"),
  );
  for (const s of status.sections) parts.push(section(s));

  parts.push(`<h2 id="records">Names and records</h2>`);
  if (!status.enumeration) {
    parts.push(`<p class="muted">The record listing is off (<code>EnumerationOn</code> is false).</p>`);
  } else {
    parts.push(
      `<form method="get" action="/"><label>Search names and records `,
      `<input type="search" name="q" value="${
        escapeHtml(query)
      }" placeholder="e.g. nginx or 10.0.0."></label> `,
      `<button type="submit">Search</button></form>`,
    );
    parts.push(snapshot ? recordsTable(snapshot.records, query, limit) : `<p>No state loaded yet.</p>`);
  }
  parts.push(`</body></html>\n`);
  return parts.join("");
}

/**
 * Mesos master znodes (owns: recognising member znode names, decoding their MasterInfo
 * data, choosing the leader, and building the masters list — SPEC §3.2, §10.4). Pure.
 *
 * Mesos masters register as ephemeral sequential children of the configured path:
 * `json.info_<seq>` (JSON MasterInfo, Mesos ≥ 0.24) or `info_<seq>` (protobuf MasterInfo,
 * older Mesos). The leader is the lowest sequence among `json.info_` members, or among
 * `info_` members when there is no JSON one. Both forms are decoded here.
 */
import { joinHostPort } from "../net/host_port.ts";

/** A member znode recognised by its name. */
export interface Member {
  /** The child name, e.g. `json.info_0000000003`. */
  name: string;
  /** The sequence number from the name. */
  seq: number;
  format: "json" | "protobuf";
}

/** What the masters list needs from a MasterInfo. */
export interface MasterInfo {
  /** The master's id ("" when absent); members are de-duplicated by it. */
  id: string;
  /** `host:port` (IPv6 bracketed), or null when the data names no usable address. */
  address: string | null;
}

const DEFAULT_PORT = 5050;

/** Recognises a member znode name; returns null for any other child. */
export function parseMemberName(name: string): Member | null {
  const m = /^(json\.info_|info_)([0-9]+)$/.exec(name);
  if (!m) return null;
  const seq = Number(m[2]);
  if (!Number.isSafeInteger(seq)) return null;
  return { name, seq, format: m[1] === "json.info_" ? "json" : "protobuf" };
}

/** The member znodes among `children`, ordered by sequence number (ties: JSON first). */
export function membersOf(children: readonly string[]): Member[] {
  const members: Member[] = [];
  for (const c of children) {
    const m = parseMemberName(c);
    if (m) members.push(m);
  }
  return members.sort((a, b) => a.seq - b.seq || (a.format === b.format ? 0 : a.format === "json" ? -1 : 1));
}

/** The format the leader is taken from: JSON when any JSON member exists, else protobuf, else null. */
export function leaderFormat(members: readonly Member[]): Member["format"] | null {
  if (members.some((m) => m.format === "json")) return "json";
  return members.length > 0 ? "protobuf" : null;
}

/**
 * Converts the old 32-bit MasterInfo `ip` field to dotted quad. Mesos stores the
 * network-order address as a host integer, so on the little-endian hosts Mesos runs
 * on the first octet is the low byte: 16777226 → 10.0.0.1.
 */
export function ipv4FromUint32LE(n: number): string {
  const v = n >>> 0;
  return [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24].join(".");
}

interface RawInfo {
  id?: string;
  ip?: number;
  port?: number;
  hostname?: string;
  address?: { hostname?: string; ip?: string; port?: number };
}

function fromRaw(raw: RawInfo): MasterInfo {
  const id = typeof raw.id === "string" ? raw.id : "";
  const addr = raw.address;
  if (addr && typeof addr === "object") {
    const host = nonEmpty(addr.ip) ?? nonEmpty(addr.hostname);
    const port = validPort(addr.port) ?? validPort(raw.port) ?? DEFAULT_PORT;
    if (host) return { id, address: joinHostPort(host, port) };
  }
  const port = validPort(raw.port) ?? DEFAULT_PORT;
  if (typeof raw.ip === "number" && Number.isInteger(raw.ip) && raw.ip !== 0) {
    return { id, address: joinHostPort(ipv4FromUint32LE(raw.ip), port) };
  }
  const host = nonEmpty(raw.hostname);
  return { id, address: host ? joinHostPort(host, port) : null };
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
}

function validPort(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) && v > 0 && v <= 65535 ? v : undefined;
}

/** Decodes JSON MasterInfo data (`json.info_` znodes); throws on invalid JSON or a non-object. */
export function decodeJsonMasterInfo(data: Uint8Array | string): MasterInfo {
  const text = typeof data === "string" ? data : new TextDecoder().decode(data);
  const raw: unknown = JSON.parse(text);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error("MasterInfo JSON is not an object");
  }
  return fromRaw(raw as RawInfo);
}

/**
 * Decodes protobuf MasterInfo data (`info_` znodes): fields id=1 (string), ip=2, port=3
 * (uint32), hostname=5 (string), address=7 {hostname=1, ip=2, port=3}. Other fields are
 * skipped. Throws on malformed input.
 */
export function decodeProtobufMasterInfo(data: Uint8Array): MasterInfo {
  const raw: RawInfo = {};
  for (const f of protoFields(data)) {
    if (f.field === 1 && f.bytes) raw.id = utf8(f.bytes);
    else if (f.field === 2 && f.varint !== undefined) raw.ip = Number(f.varint & 0xffffffffn);
    else if (f.field === 3 && f.varint !== undefined) raw.port = Number(f.varint & 0xffffffffn);
    else if (f.field === 5 && f.bytes) raw.hostname = utf8(f.bytes);
    else if (f.field === 7 && f.bytes) {
      const addr: NonNullable<RawInfo["address"]> = {};
      for (const a of protoFields(f.bytes)) {
        if (a.field === 1 && a.bytes) addr.hostname = utf8(a.bytes);
        else if (a.field === 2 && a.bytes) addr.ip = utf8(a.bytes);
        else if (a.field === 3 && a.varint !== undefined) addr.port = Number(BigInt.asIntN(32, a.varint));
      }
      raw.address = addr;
    }
  }
  return fromRaw(raw);
}

/** Decodes a member's data according to its format. */
export function decodeMasterInfo(member: Member, data: Uint8Array): MasterInfo {
  return member.format === "json" ? decodeJsonMasterInfo(data) : decodeProtobufMasterInfo(data);
}

function utf8(b: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(b);
}

interface ProtoField {
  field: number;
  varint?: bigint;
  bytes?: Uint8Array;
}

function* protoFields(data: Uint8Array): Generator<ProtoField> {
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= data.length) throw new Error("protobuf: truncated varint");
      const b = data[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new Error("protobuf: varint too long");
  };
  while (pos < data.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) throw new Error("protobuf: field number 0");
    if (wire === 0) yield { field, varint: varint() };
    else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (pos + n > data.length) throw new Error("protobuf: truncated fixed field");
      pos += n;
    } else if (wire === 2) {
      const len = Number(varint());
      if (pos + len > data.length) throw new Error("protobuf: truncated bytes field");
      yield { field, bytes: data.subarray(pos, pos + len) };
      pos += len;
    } else throw new Error(`protobuf: unsupported wire type ${wire}`);
  }
}

/** One member with its decoded data (`info` null when the data could not be decoded). */
export interface DecodedMember {
  member: Member;
  info: MasterInfo | null;
}

/**
 * Builds the masters list from the members whose data was read, in sequence order:
 * element 0 is the leader's address ("" when the leader's data names no address),
 * then every other member's address in sequence order, de-duplicated by MasterInfo id
 * and by address, the leader excluded. Returns `[""]` when there is no member.
 */
export function buildMastersList(decoded: readonly DecodedMember[]): string[] {
  const sorted = [...decoded].sort((a, b) => a.member.seq - b.member.seq);
  const format = leaderFormat(sorted.map((d) => d.member));
  const leader = sorted.find((d) => d.member.format === format);
  const leaderAddress = leader?.info?.address ?? "";
  const seenIds = new Set<string>();
  const seenAddresses = new Set<string>();
  if (leader?.info?.id) seenIds.add(leader.info.id);
  if (leaderAddress) seenAddresses.add(leaderAddress);
  const others: string[] = [];
  for (const d of sorted) {
    if (d === leader || !d.info?.address) continue;
    if (d.info.id && seenIds.has(d.info.id)) continue;
    if (seenAddresses.has(d.info.address)) continue;
    if (d.info.id) seenIds.add(d.info.id);
    seenAddresses.add(d.info.address);
    others.push(d.info.address);
  }
  return [leaderAddress, ...others];
}

/**
 * Zone transfer messages (owns: packing a stream of resource records into as many DNS
 * messages as needed, each under a size limit, with name compression, RFC 5936 §2.2).
 * Every message repeats the request's ID and question; owners, NS targets and SOA names
 * are compressed against earlier names of the same message, SRV targets are written whole
 * (RFC 2782) but serve as compression targets for later names.
 */
import type { ZoneRecord } from "./xfr_zone.ts";
import {
  ByteWriter,
  CLASS_IN,
  FLAG_AA,
  FLAG_QR,
  FLAG_RD,
  HEADER_LEN,
  TYPE_A,
  TYPE_AAAA,
  TYPE_NS,
  TYPE_SOA,
  TYPE_SRV,
} from "./wire.ts";
import { ipv4Number, ipv6Bytes } from "../net/ip.ts";

/** The fields of the zone's SOA record. */
export interface SoaFields {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/** A record to write: a zone record, the SOA or the NS of the apex. */
export type XfrRecord =
  | ZoneRecord
  | { readonly name: string; readonly type: "SOA"; readonly soa: SoaFields }
  | { readonly name: string; readonly type: "NS"; readonly value: string };

/** Default size of one transfer message: well under 64 KB, as other servers do. */
export const XFR_MESSAGE_LIMIT = 16 * 1024;

function stripDot(name: string): string {
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

/** Writes transfer messages for one request. */
export class XfrMessageWriter {
  readonly #messages: Uint8Array[] = [];
  readonly #w = new ByteWriter(65535);
  /** Name suffix (lower case, no trailing dot) → offset in the current message. */
  #names = new Map<string, number>();
  #count = 0;
  readonly #flags2: number;

  /**
   * `question` is the request's question section (name, type, class) as sent; `rd`
   * copies the request's RD bit.
   */
  constructor(
    readonly id: number,
    readonly question: Uint8Array,
    readonly ttl: number,
    readonly srvWeight: number,
    rd: boolean,
    readonly limit = XFR_MESSAGE_LIMIT,
  ) {
    this.#flags2 = FLAG_QR | FLAG_AA | (rd ? FLAG_RD : 0);
    this.#startMessage();
  }

  #startMessage(): void {
    const w = this.#w;
    w.len = 0;
    w.u16(this.id);
    w.u8(this.#flags2);
    w.u8(0);
    w.u16(1);
    w.u16(0);
    w.u16(0);
    w.u16(0);
    w.bytes(this.question);
    this.#names = new Map();
    this.#count = 0;
  }

  #flush(): void {
    if (this.#count === 0) return;
    const w = this.#w;
    w.setU16(6, this.#count);
    this.#messages.push(w.buf.slice(0, w.len));
    this.#startMessage();
  }

  /** Writes a name, compressed against earlier ones unless `compress` is false; records its suffixes. */
  #name(name: string, compress: boolean, added: string[]): void {
    const w = this.#w;
    let at = 0;
    while (at < name.length) {
      const suffix = at === 0 ? name : name.slice(at);
      const ptr = compress ? this.#names.get(suffix) : undefined;
      if (ptr !== undefined) {
        w.u16(0xc000 | ptr);
        return;
      }
      if (w.len < 0x4000 && !this.#names.has(suffix)) {
        this.#names.set(suffix, w.len);
        added.push(suffix);
      }
      const dot = name.indexOf(".", at);
      const end = dot < 0 ? name.length : dot;
      w.u8(end - at);
      for (let i = at; i < end; i++) w.u8(name.charCodeAt(i));
      at = end + 1;
    }
    w.u8(0);
  }

  /** Writes one record into the current message; false if a value does not encode (nothing written). */
  #write(rr: XfrRecord, added: string[]): boolean {
    const w = this.#w;
    const start = w.len;
    this.#name(rr.name, true, added);
    const type = rr.type === "A"
      ? TYPE_A
      : rr.type === "AAAA"
      ? TYPE_AAAA
      : rr.type === "SRV"
      ? TYPE_SRV
      : rr.type === "NS"
      ? TYPE_NS
      : TYPE_SOA;
    w.u16(type);
    w.u16(CLASS_IN);
    w.u32(this.ttl);
    const lenAt = w.len;
    w.u16(0);
    const rdStart = w.len;
    switch (rr.type) {
      case "A": {
        const ip = ipv4Number(rr.value);
        if (ip < 0) return this.#undo(start);
        w.u32(ip);
        break;
      }
      case "AAAA": {
        const ip = ipv6Bytes(rr.value);
        if (!ip) return this.#undo(start);
        w.bytes(ip);
        break;
      }
      case "SRV": {
        const colon = rr.value.lastIndexOf(":");
        const port = Number(rr.value.slice(colon + 1));
        if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) return this.#undo(start);
        w.u16(0);
        w.u16(this.srvWeight);
        w.u16(port);
        this.#name(stripDot(rr.value.slice(0, colon)).toLowerCase(), false, added);
        break;
      }
      case "NS":
        this.#name(stripDot(rr.value).toLowerCase(), true, added);
        break;
      case "SOA": {
        const s = rr.soa;
        this.#name(stripDot(s.mname).toLowerCase(), true, added);
        this.#name(stripDot(s.rname).toLowerCase(), true, added);
        w.u32(s.serial);
        w.u32(s.refresh);
        w.u32(s.retry);
        w.u32(s.expire);
        w.u32(s.minimum);
        break;
      }
    }
    w.setU16(lenAt, w.len - rdStart);
    return true;
  }

  #undo(start: number): false {
    this.#w.len = start;
    return false;
  }

  /** Adds a record, starting a new message when the current one would exceed the limit. */
  add(rr: XfrRecord): void {
    const added: string[] = [];
    const start = this.#w.len;
    if (!this.#write(rr, added)) {
      for (const s of added) this.#names.delete(s);
      return;
    }
    if (this.#w.len > this.limit && this.#count > 0) {
      for (const s of added) this.#names.delete(s);
      this.#w.len = start;
      this.#flush();
      this.#write(rr, []);
    }
    this.#count++;
  }

  /** The messages completed so far (not the one being filled), handed over once. */
  take(): Uint8Array[] {
    return this.#messages.splice(0);
  }

  /** The messages written and not taken yet (the last one included). */
  finish(): Uint8Array[] {
    this.#flush();
    return this.#messages;
  }
}

/** Length of the question section of a request whose name starts at offset 12, or -1. */
export function questionLength(req: Uint8Array): number {
  let at = HEADER_LEN;
  while (at < req.length) {
    const len = req[at];
    if (len === 0) return at + 5 <= req.length ? at + 5 - HEADER_LEN : -1;
    if (len > 63) return -1;
    at += len + 1;
  }
  return -1;
}

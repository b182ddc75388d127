/**
 * The message vectors of the UDP fast path (owns: one calloc'd block holding the
 * recvmmsg and sendmmsg vectors, their socket addresses and a 64 KB data slot per
 * datagram, wired together once; views of the slots for the code that reads requests
 * and writes replies). Freed with `free`.
 */
import {
  address,
  IOVEC_SIZE,
  type Libc,
  MMSGHDR_SIZE,
  MSG_IOV,
  MSG_IOVLEN,
  MSG_NAME,
  MSG_NAMELEN,
  SOCKADDR_STORAGE_SIZE,
} from "./libc.ts";

/** Largest datagram received or sent whole. */
export const SLOT = 65536;

/** The calloc'd block: both message vectors, their addresses and buffers. */
export class MmsgBuffers {
  readonly base: Deno.PointerObject;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  readonly rMsg: number;
  readonly rName: number;
  readonly rData: number;
  readonly sMsg: number;
  readonly sIov: number;
  readonly sName: number;
  readonly sData: number;
  readonly rMsgPtr: Deno.PointerObject;
  /** sendmmsg vector pointers from entry k on. */
  readonly sMsgPtrs: Deno.PointerObject[];
  /** The send data slots, as views the responder writes replies into. */
  readonly sSlots: Uint8Array[];
  /** The receive data slots, as views the responder reads requests from. */
  readonly rSlots: Uint8Array[];

  constructor(readonly libc: Libc, readonly batch: number) {
    let off = 0;
    const take = (n: number) => {
      const at = off;
      off += n;
      return at;
    };
    this.rMsg = take(batch * MMSGHDR_SIZE);
    const rIov = take(batch * IOVEC_SIZE);
    this.rName = take(batch * SOCKADDR_STORAGE_SIZE);
    this.sMsg = take(batch * MMSGHDR_SIZE);
    this.sIov = take(batch * IOVEC_SIZE);
    this.sName = take(batch * SOCKADDR_STORAGE_SIZE);
    off = Math.ceil(off / 4096) * 4096;
    this.rData = take(batch * SLOT);
    this.sData = take(batch * SLOT);
    // calloc: zeroed (msg_control must be NULL), and not moved by the garbage collector.
    const p = libc.symbols.calloc(1n, BigInt(off));
    if (!p) throw new Error(`calloc(${off}) failed`);
    this.base = p;
    this.u8 = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, off));
    this.dv = new DataView(this.u8.buffer);
    const base = address(p);
    const dv = this.dv;
    const receive = [this.rMsg, rIov, this.rName, this.rData];
    const send = [this.sMsg, this.sIov, this.sName, this.sData];
    for (const [msg, iov, name, data] of [receive, send]) {
      for (let i = 0; i < batch; i++) {
        const h = msg + i * MMSGHDR_SIZE;
        dv.setBigUint64(h + MSG_NAME, base + BigInt(name + i * SOCKADDR_STORAGE_SIZE), true);
        dv.setUint32(h + MSG_NAMELEN, SOCKADDR_STORAGE_SIZE, true);
        dv.setBigUint64(h + MSG_IOV, base + BigInt(iov + i * IOVEC_SIZE), true);
        dv.setBigUint64(h + MSG_IOVLEN, 1n, true);
        dv.setBigUint64(iov + i * IOVEC_SIZE, base + BigInt(data + i * SLOT), true);
        dv.setBigUint64(iov + i * IOVEC_SIZE + 8, BigInt(SLOT), true);
      }
    }
    const ptr = (o: number) => Deno.UnsafePointer.create(base + BigInt(o))!;
    this.rMsgPtr = ptr(this.rMsg);
    this.sMsgPtrs = Array.from({ length: batch }, (_, i) => ptr(this.sMsg + i * MMSGHDR_SIZE));
    const slots = (at: number) =>
      Array.from({ length: batch }, (_, i) => this.u8.subarray(at + i * SLOT, at + (i + 1) * SLOT));
    this.sSlots = slots(this.sData);
    this.rSlots = slots(this.rData);
  }

  free(): void {
    this.libc.symbols.free(this.base);
  }
}

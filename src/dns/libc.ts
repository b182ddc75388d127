/**
 * The C library through Deno's FFI (owns: the libc symbols the UDP fast path calls, the
 * Linux constants and struct layouts it needs on x86_64 and aarch64, socket addresses,
 * and finding the descriptor of a socket Deno bound). Nothing here knows DNS.
 *
 * Memory handed to the kernel for longer than one call (message vectors, buffers) must
 * come from libc `calloc` and be viewed with `Deno.UnsafePointerView.getArrayBuffer`:
 * pointers taken from JS typed arrays do not stay valid.
 */
import { ipv4Number, ipv6Bytes } from "../net/ip.ts";

/** The libc functions used by the UDP fast path, as Deno FFI declarations. */
export const LIBC_SYMBOLS = {
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  recvmmsg: { parameters: ["i32", "pointer", "u32", "i32", "pointer"], result: "i32" },
  sendmmsg: { parameters: ["i32", "pointer", "u32", "i32"], result: "i32" },
  calloc: { parameters: ["usize", "usize"], result: "pointer" },
  free: { parameters: ["pointer"], result: "void" },
  __errno_location: { parameters: [], result: "pointer" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
} as const;

export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;

/** The shared object names tried, in order (glibc). */
const LIBC_NAMES = ["libc.so.6", "libc.so"];

// Linux values, identical on x86_64 and aarch64 (asm-generic).
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_DGRAM = 2;
export const SOL_SOCKET = 1;
export const SO_TYPE = 3;
export const SO_REUSEADDR = 2;
export const SO_RCVBUF = 8;
export const SO_REUSEPORT = 15;
/** SO_RCVBUF beyond net.core.rmem_max (needs CAP_NET_ADMIN). */
export const SO_RCVBUFFORCE = 33;
export const IPPROTO_IPV6 = 41;
export const IPV6_V6ONLY = 26;
/** socket() type flags. */
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_DONTWAIT = 0x40;
export const EINTR = 4;
export const EAGAIN = 11;
export const POLLIN = 0x1;
/** eventfd flags: EFD_NONBLOCK | EFD_CLOEXEC. */
export const EFD_NONBLOCK_CLOEXEC = 0o4000 | 0o2000000;
/** struct pollfd { int fd; short events; short revents; } */
export const POLLFD_SIZE = 8;

// LP64 struct layouts (x86_64 and aarch64 Linux).
/** struct iovec { void *iov_base; size_t iov_len; } */
export const IOVEC_SIZE = 16;
/** struct mmsghdr { struct msghdr msg_hdr; unsigned msg_len; }, with the msghdr fields used. */
export const MMSGHDR_SIZE = 64;
export const MSG_NAME = 0;
export const MSG_NAMELEN = 8;
export const MSG_IOV = 16;
export const MSG_IOVLEN = 24;
export const MSG_LEN = 56;
/** sizeof(struct sockaddr_storage) */
export const SOCKADDR_STORAGE_SIZE = 128;

/** Why the fast path cannot run on this platform, or undefined if it may. */
export function platformUnsupported(): string | undefined {
  if (Deno.build.os !== "linux") return `not Linux (${Deno.build.os})`;
  if (Deno.build.arch !== "x86_64" && Deno.build.arch !== "aarch64") {
    return `unsupported CPU architecture ${Deno.build.arch}`;
  }
  if (typeof Deno.dlopen !== "function") return "Deno.dlopen is not available";
  return undefined;
}

/** Opens libc with `symbols` (default: the fast path's); throws if no candidate name loads. */
export function openLibc(): Libc;
export function openLibc<S extends Deno.ForeignLibraryInterface>(symbols: S): Deno.DynamicLibrary<S>;
export function openLibc(symbols: Deno.ForeignLibraryInterface = LIBC_SYMBOLS) {
  let last: unknown;
  for (const name of LIBC_NAMES) {
    try {
      return Deno.dlopen(name, symbols);
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

/** Whether libc can be called from here: a platform the fast path runs on, with `--allow-ffi`. */
export function libcCallable(): boolean {
  try {
    return platformUnsupported() === undefined &&
      Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

/**
 * `fn` with libc opened for `symbols` and closed after it (an occasional call holds nothing
 * open); `fallback` where libc cannot be called or opened.
 */
export function withLibc<S extends Deno.ForeignLibraryInterface, T>(
  symbols: S,
  fallback: T,
  fn: (libc: Deno.DynamicLibrary<S>["symbols"]) => T,
): T {
  if (!libcCallable()) return fallback;
  let lib: Deno.DynamicLibrary<S>;
  try {
    lib = openLibc(symbols);
  } catch {
    return fallback;
  }
  try {
    return fn(lib.symbols);
  } finally {
    lib.close();
  }
}

/** A pointer's address as a bigint. */
export function address(p: Deno.PointerValue): bigint {
  return BigInt(Deno.UnsafePointer.value(p));
}

/**
 * Writes `hostname:port` as a sockaddr_in / sockaddr_in6 into `out` at `at` (room for 28
 * bytes needed) and returns its length, or 0 when the host is not an IP literal.
 */
export function writeSockaddr(out: Uint8Array, at: number, hostname: string, port: number): number {
  const v4 = ipv4Number(hostname);
  if (v4 >= 0) {
    out.fill(0, at, at + 16);
    out[at] = AF_INET;
    out[at + 2] = port >>> 8;
    out[at + 3] = port & 0xff;
    out[at + 4] = v4 >>> 24;
    out[at + 5] = (v4 >>> 16) & 0xff;
    out[at + 6] = (v4 >>> 8) & 0xff;
    out[at + 7] = v4 & 0xff;
    return 16;
  }
  const host = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  const v6 = ipv6Bytes(host);
  if (!v6) return 0;
  out.fill(0, at, at + 28);
  out[at] = AF_INET6;
  out[at + 2] = port >>> 8;
  out[at + 3] = port & 0xff;
  out.set(v6, at + 8);
  return 28;
}

/** `hostname:port` as a sockaddr_in / sockaddr_in6, or undefined when the host is not an IP literal. */
export function sockaddrFor(hostname: string, port: number): Uint8Array | undefined {
  const sa = new Uint8Array(28);
  const n = writeSockaddr(sa, 0, hostname, port);
  return n ? sa.subarray(0, n) : undefined;
}

function sameSockaddr(a: Uint8Array, b: Uint8Array): boolean {
  // Family and port, then the address (IPv4: 4 bytes at 4; IPv6: 16 bytes at 8).
  if (a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2] || a[3] !== b[3]) return false;
  const [from, to] = (a[0] | (a[1] << 8)) === AF_INET ? [4, 8] : [8, 24];
  for (let i = from; i < to; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The descriptors this process has open (from /proc/self/fd, else the first 4096 numbers). */
function openDescriptors(): number[] {
  try {
    return [...Deno.readDirSync("/proc/self/fd")].map((e) => Number(e.name)).filter(Number.isInteger);
  } catch {
    return Array.from({ length: 4096 }, (_, i) => i);
  }
}

/**
 * Finds the descriptor of the UDP socket bound to `addr` (as `Deno.listenDatagram`
 * bound it): the one datagram socket whose local address is exactly `addr`. Undefined
 * when there is none or more than one.
 */
export function findUdpSocket(libc: Libc, addr: Deno.NetAddr): number | undefined {
  const want = sockaddrFor(addr.hostname, addr.port);
  if (!want) return undefined;
  const sa = new Uint8Array(SOCKADDR_STORAGE_SIZE);
  const len = new Uint32Array(1);
  const found: number[] = [];
  for (const fd of openDescriptors()) {
    len[0] = SOCKADDR_STORAGE_SIZE;
    if (libc.symbols.getsockname(fd, sa, new Uint8Array(len.buffer)) !== 0) continue;
    if (len[0] < want.length || !sameSockaddr(sa, want)) continue;
    if (getIntOption(libc, fd, SOL_SOCKET, SO_TYPE) === SOCK_DGRAM) found.push(fd);
  }
  return found.length === 1 ? found[0] : undefined;
}

/** Reads an int socket option; undefined when it cannot be read. */
export function getIntOption(libc: Libc, fd: number, level: number, name: number): number | undefined {
  const v = new Int32Array(1);
  const len = new Uint32Array([4]);
  const r = libc.symbols.getsockopt(fd, level, name, new Uint8Array(v.buffer), new Uint8Array(len.buffer));
  return r === 0 ? v[0] : undefined;
}

/** Sets an int socket option; true when the kernel took it. */
export function setIntOption(libc: Libc, fd: number, level: number, name: number, value: number): boolean {
  return libc.symbols.setsockopt(fd, level, name, new Uint8Array(new Int32Array([value]).buffer), 4) === 0;
}

/**
 * Asks for a receive buffer of `bytes` on socket `fd`: SO_RCVBUFFORCE first (allowed
 * with CAP_NET_ADMIN, e.g. as root; not capped by net.core.rmem_max), else SO_RCVBUF
 * (capped by net.core.rmem_max). Returns the size the kernel reports afterwards (Linux
 * reports twice what it was asked, the second half being its bookkeeping), or undefined.
 */
export function setReceiveBuffer(libc: Libc, fd: number, bytes: number): number | undefined {
  const value = Math.min(bytes, 0x7fffffff);
  if (!setIntOption(libc, fd, SOL_SOCKET, SO_RCVBUFFORCE, value)) {
    setIntOption(libc, fd, SOL_SOCKET, SO_RCVBUF, value);
  }
  return getIntOption(libc, fd, SOL_SOCKET, SO_RCVBUF);
}

/**
 * A new non-blocking UDP socket bound to `addr` (an IP literal), with `IPV6_V6ONLY` set
 * to `v6only` for IPv6 when given, and SO_REUSEPORT when `reusePort` (several sockets
 * on one address, the kernel spreading datagrams over them by sender). Throws with the
 * errno when a step fails.
 */
export function bindUdpSocket(
  libc: Libc,
  addr: Deno.NetAddr,
  v6only: number | undefined,
  reusePort = false,
): number {
  const sa = sockaddrFor(addr.hostname, addr.port);
  if (!sa) throw new Error(`not an IP address: ${addr.hostname}`);
  const errno = () => new Deno.UnsafePointerView(libc.symbols.__errno_location()!).getInt32();
  const family = sa[0] | (sa[1] << 8);
  const fd = libc.symbols.socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket() failed (os error ${errno()})`);
  const int = (v: number) => new Uint8Array(new Int32Array([v]).buffer);
  try {
    if (family === AF_INET6 && v6only !== undefined) {
      if (libc.symbols.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, int(v6only), 4) !== 0) {
        throw new Error(`setting IPV6_V6ONLY failed (os error ${errno()})`);
      }
    }
    if (reusePort && !setIntOption(libc, fd, SOL_SOCKET, SO_REUSEPORT, 1)) {
      throw new Error(`setting SO_REUSEPORT failed (os error ${errno()})`);
    }
    if (libc.symbols.bind(fd, sa, sa.length) !== 0) {
      throw new Error(`cannot bind ${addr.hostname}:${addr.port} (os error ${errno()})`);
    }
    return fd;
  } catch (e) {
    libc.symbols.close(fd);
    throw e;
  }
}

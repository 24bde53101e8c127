// A small rtnetlink (NETLINK_ROUTE, netlink(7), rtnetlink(7)) client: one socket of the calling
// thread's network namespace, requests answered by an acknowledgement or a dump, errors as NetlinkError
// with the errno and the kernel's extended-ack message. The message headers are koffi struct types
// (nlmsghdr, nlattr, nlmsgerr, sockaddr_nl; test/unit/kernel-structs.test.ts checks them against the
// kernel's BTF); what a request carries (ndmsg, ifinfomsg and their attributes) is built by its caller
// (rtnl-neigh.ts). Control-plane only: a call blocks until the kernel answered (bounded by a timeout).
import koffi from 'koffi';
import { kernelStruct, offsets } from './ctypes.js';
import * as libc from './libc.js';
import { encoded } from './tpacket.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** On an NLMSG_ERROR answer: extended-ack attributes follow the error. */
const NLM_F_ACK_TLVS = 0x200;

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
/** NLMSGERR_ATTR_MSG: the kernel's message for a refused request. */
const NLMSGERR_ATTR_MSG = 1;

const NLMSGHDR = kernelStruct('nlmsghdr', {
  nlmsg_len: 'uint32_t',
  nlmsg_type: 'uint16_t',
  nlmsg_flags: 'uint16_t',
  nlmsg_seq: 'uint32_t',
  nlmsg_pid: 'uint32_t',
});
const NLATTR = kernelStruct('nlattr', { nla_len: 'uint16_t', nla_type: 'uint16_t' });
const NLMSGERR = kernelStruct('nlmsgerr', { error: 'int', msg: NLMSGHDR });
const SOCKADDR_NL = kernelStruct('sockaddr_nl', {
  nl_family: 'uint16_t',
  nl_pad: 'uint16_t',
  nl_pid: 'uint32_t',
  nl_groups: 'uint32_t',
});

const HDR = offsets(NLMSGHDR, ['nlmsg_len', 'nlmsg_type', 'nlmsg_flags', 'nlmsg_seq']);
const HDR_LEN = koffi.sizeof(NLMSGHDR);
const ATTR_LEN = koffi.sizeof(NLATTR);
const ATTR = offsets(NLATTR, ['nla_len', 'nla_type']);
const ERR_ERROR = koffi.offsetof(NLMSGERR, 'error');

/** Netlink aligns messages and attributes to 4 bytes. */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** A request refused by the kernel: `errno` and the kernel's own words when it gave some. */
export class NetlinkError extends Error {
  readonly errno: number;
  constructor(what: string, errno: number, detail?: string) {
    super(`${what}: ${libc.strerror(errno)} (errno ${errno})${detail ? `: ${detail}` : ''}`);
    this.name = 'NetlinkError';
    this.errno = errno;
  }
}

/** One attribute to append to a request: its type and payload. */
export interface Attr {
  type: number;
  data: Uint8Array;
}

/** One message of an answer: its type and its payload (after the nlmsghdr), a view into a copy. */
export interface NlMessage {
  type: number;
  payload: Uint8Array;
}

/** Walks the attributes of `buf` (a payload after its fixed header) into a map by type. */
export function parseAttrs(buf: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + ATTR_LEN <= buf.length) {
    const len = dv.getUint16(off + ATTR.nla_len, true);
    const type = dv.getUint16(off + ATTR.nla_type, true) & 0x3fff; // without NLA_F_NESTED/BYTEORDER
    if (len < ATTR_LEN || off + len > buf.length) break;
    out.set(type, buf.subarray(off + ATTR_LEN, off + len));
    off += align4(len);
  }
  return out;
}

/** A NETLINK_ROUTE socket of the calling thread's namespace. Close it when done. */
export class RtnlSocket {
  private fd: number;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly rx = new Uint8Array(65536);
  private readonly pfd = new Uint8Array(libc.POLLFD_SIZE);

  constructor(private readonly timeoutMs = 5000) {
    this.fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    try {
      // Errors carry the kernel's message and not the whole request back.
      libc.setsockoptInt(this.fd, SOL_NETLINK, NETLINK_CAP_ACK, 1, 'NETLINK_CAP_ACK');
      libc.setsockoptInt(this.fd, SOL_NETLINK, NETLINK_EXT_ACK, 1, 'NETLINK_EXT_ACK');
      libc.bind(this.fd, encoded(SOCKADDR_NL, { nl_family: AF_NETLINK }), 'netlink');
    } catch (e) {
      libc.close(this.fd);
      throw e;
    }
    const dv = new DataView(this.pfd.buffer);
    dv.setInt32(libc.POLLFD_FD, this.fd, true);
    dv.setInt16(libc.POLLFD_EVENTS, libc.POLLIN, true);
  }

  /**
   * Sends one request (`fixed`: its family header, then `attrs`) and returns the messages of the
   * answer: none for an acknowledged change, the entries of a dump. Throws NetlinkError when refused.
   */
  request(what: string, type: number, flags: number, fixed: Uint8Array, attrs: Attr[] = []): NlMessage[] {
    const seq = ++this.seq >>> 0;
    let len = HDR_LEN + align4(fixed.length);
    for (const a of attrs) len += align4(ATTR_LEN + a.data.length);
    const msg = new Uint8Array(len);
    msg.set(
      encoded(NLMSGHDR, {
        nlmsg_len: len,
        nlmsg_type: type,
        nlmsg_flags: flags | NLM_F_REQUEST | NLM_F_ACK,
        nlmsg_seq: seq,
        nlmsg_pid: 0,
      }),
    );
    msg.set(fixed, HDR_LEN);
    let off = HDR_LEN + align4(fixed.length);
    for (const a of attrs) {
      msg.set(encoded(NLATTR, { nla_len: ATTR_LEN + a.data.length, nla_type: a.type }), off);
      msg.set(a.data, off + ATTR_LEN);
      off += align4(ATTR_LEN + a.data.length);
    }
    libc.send(this.fd, msg, msg.length, what);
    return this.answer(what, seq);
  }

  /** Reads until the answer to `seq` is complete (an ack, an error, or the end of a dump). */
  private answer(what: string, seq: number): NlMessage[] {
    const out: NlMessage[] = [];
    for (;;) {
      const n = this.recv(what);
      const dv = new DataView(this.rx.buffer, 0, n);
      let off = 0;
      while (off + HDR_LEN <= n) {
        const len = dv.getUint32(off + HDR.nlmsg_len, true);
        if (len < HDR_LEN || off + len > n) break;
        const type = dv.getUint16(off + HDR.nlmsg_type, true);
        const flags = dv.getUint16(off + HDR.nlmsg_flags, true);
        const mseq = dv.getUint32(off + HDR.nlmsg_seq, true);
        const payload = this.rx.slice(off + HDR_LEN, off + len);
        off += align4(len);
        if (mseq !== seq) continue; // a late answer to an earlier request that timed out
        if (type === NLMSG_DONE) return out;
        if (type === NLMSG_ERROR) {
          const err = new DataView(payload.buffer).getInt32(ERR_ERROR, true);
          if (err === 0) return out;
          throw new NetlinkError(what, -err, this.extAckMessage(payload, flags));
        }
        // Every request asks for an ack: a GET answers its message(s) then the ack, a dump ends with DONE.
        out.push({ type, payload });
      }
    }
  }

  /** The kernel's message in an error answer (NETLINK_EXT_ACK), when there is one. */
  private extAckMessage(payload: Uint8Array, flags: number): string | undefined {
    if ((flags & NLM_F_ACK_TLVS) === 0) return undefined;
    // With NETLINK_CAP_ACK the error holds only the request's header: the attributes follow it.
    const m = parseAttrs(payload.subarray(koffi.sizeof(NLMSGERR))).get(NLMSGERR_ATTR_MSG);
    return m ? Buffer.from(m).toString('utf8').replace(/\0+$/, '') : undefined;
  }

  private recv(what: string): number {
    for (;;) {
      const n = libc.recvNow(this.fd, this.rx);
      if (n >= 0) return n;
      const r = libc.poll(this.pfd, 1, this.timeoutMs);
      if (r === 0) throw new NetlinkError(what, libc.EAGAIN, `no answer within ${this.timeoutMs} ms`);
      if (r < 0 && libc.lastErrno() !== libc.EINTR) throw new libc.SysError('poll', libc.lastErrno(), what);
    }
  }

  close(): void {
    libc.close(this.fd);
    this.fd = -1;
  }
}

/** Runs `fn` with a fresh socket of the calling thread's namespace, closed afterwards. */
export function withRtnl<T>(fn: (nl: RtnlSocket) => T): T {
  const nl = new RtnlSocket();
  try {
    return fn(nl);
  } finally {
    nl.close();
  }
}

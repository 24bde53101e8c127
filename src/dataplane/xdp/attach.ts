// Where the XDP programs of one instance run: attaching them to the FRONTEND and BACKEND ports and
// detaching them, by netlink (bpf_xdp_attach), not through BPF links, so an attachment lasts whatever
// happens to the daemon and to the bpffs of its mount namespace. Also tells lbdsr's programs (this
// instance's, or any lbdsr version's) from a foreign XDP program, which is never replaced.
import { LbdsrError } from '../../core/errors.js';
import type { ResolvedPort } from '../../core/model.js';
import { ERRNO } from '../../kernel/errno.js';
import {
  BpfError,
  closeFd,
  progFdById,
  progId,
  progInfo,
  XDP_FLAGS_DRV_MODE,
  XDP_FLAGS_SKB_MODE,
  xdpAttach,
  xdpDetach,
  xdpQueryId,
} from '../../kernel/libbpf.js';
import { BACKEND_PROGRAM_NAME, PROGRAM_NAME } from './maps.js';

export type XdpKind = 'XDP_DRV' | 'XDP_SKB';
export type PortRole = 'frontend' | 'backend';
export const ROLES: readonly PortRole[] = ['frontend', 'backend'];

function modeFlag(kind: XdpKind): number {
  return kind === 'XDP_DRV' ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

/** The caller's view of a failed attach: unsupported mode, a conflicting program, else the kernel's. */
function attachError(e: unknown, port: ResolvedPort, kind: XdpKind): Error {
  if (!(e instanceof BpfError)) return e as Error;
  if (e.errno === ERRNO.EOPNOTSUPP || e.errno === ERRNO.EINVAL) {
    return new LbdsrError(
      'LBDSR_NOT_AVAILABLE',
      `${port.ifname} does not support ${kind === 'XDP_DRV' ? 'native XDP (XDP_DRV); use type=XDP_SKB' : 'XDP'}: ${e.message}`,
      { cause: e },
    );
  }
  if (e.errno === ERRNO.EBUSY || e.errno === ERRNO.EEXIST) {
    return new LbdsrError(
      'LBDSR_CONFLICT',
      `${port.ifname} already runs another XDP program (or one in the other mode): ${e.message}`,
      { cause: e },
    );
  }
  return e;
}

/** Whether the program with this id is an lbdsr program (of any instance or version). */
function isLbdsr(id: number): boolean {
  try {
    const fd = progFdById(id);
    try {
      const name = progInfo(fd).name;
      return name === PROGRAM_NAME || name === BACKEND_PROGRAM_NAME;
    } finally {
      closeFd(fd);
    }
  } catch {
    return false;
  }
}

/** An fd of the program named `name` running on the port, -1 when there is none. */
export function attachedProgram(port: ResolvedPort | undefined, name: string): number {
  if (!port) return -1;
  let id = 0;
  try {
    id = xdpQueryId(port.ifindex, 0);
  } catch {
    return -1;
  }
  if (id === 0) return -1;
  const fd = progFdById(id);
  if (progInfo(fd).name === name) return fd;
  closeFd(fd);
  return -1;
}

/** The ports an instance's programs are attached to, in one XDP mode. */
export class XdpAttachments {
  readonly kind: XdpKind;
  /** Ids of programs that are this instance's (adopted ones, maybe of an older version). */
  private readonly ownIds = new Set<number>();
  /** Interfaces the program is attached to, by port role. */
  private readonly attached: Partial<Record<PortRole, number>> = {};

  constructor(kind: XdpKind) {
    this.kind = kind;
  }

  /** Records the program behind `progFd` as this instance's: attach() may replace it on a port. */
  own(progFd: number): void {
    this.ownIds.add(progId(progFd));
  }

  /**
   * Makes `progFd` run on `port` for `role` (and nowhere else for that role; no port: detached).
   * Throws LBDSR_CONFLICT when a foreign XDP program runs there.
   */
  attach(role: PortRole, port: ResolvedPort | undefined, progFd: number): void {
    const mode = modeFlag(this.kind);
    const cur = this.attached[role];
    if (cur !== undefined && cur !== port?.ifindex) this.detach(role, progFd);
    if (!port) return;
    const myId = progId(progFd);
    if (xdpQueryId(port.ifindex, mode) === myId) {
      this.attached[role] = port.ifindex;
      return;
    }
    // Ours in the other mode (the type changed): remove it first, the kernel allows one mode.
    const other = mode === XDP_FLAGS_DRV_MODE ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
    if (xdpQueryId(port.ifindex, other) === myId) xdpDetach(port.ifindex, other);
    const existing = xdpQueryId(port.ifindex, 0);
    if (existing !== 0 && !this.ownIds.has(existing) && !isLbdsr(existing)) {
      throw new LbdsrError(
        'LBDSR_CONFLICT',
        `${port.ifname} already runs another XDP program (id ${existing})`,
      );
    }
    try {
      xdpAttach(port.ifindex, progFd, mode);
    } catch (e) {
      throw attachError(e, port, this.kind);
    }
    this.attached[role] = port.ifindex;
  }

  /** Removes `progFd`'s program from the port of `role` (in either mode); a vanished port is fine. */
  detach(role: PortRole, progFd: number): void {
    const ifindex = this.attached[role];
    delete this.attached[role];
    if (ifindex === undefined) return;
    const myId = progId(progFd);
    for (const mode of [XDP_FLAGS_SKB_MODE, XDP_FLAGS_DRV_MODE]) {
      try {
        if (xdpQueryId(ifindex, mode) === myId) xdpDetach(ifindex, mode);
      } catch {
        // the interface is gone, and the attachment with it
      }
    }
  }

  /** Puts `newFd` in place of `oldFd` on the port of `role` where it runs (atomic on the interface). */
  swap(role: PortRole, oldFd: number, newFd: number): void {
    const ifindex = this.attached[role];
    if (ifindex !== undefined && xdpQueryId(ifindex, 0) === progId(oldFd))
      xdpAttach(ifindex, newFd, modeFlag(this.kind));
  }
}

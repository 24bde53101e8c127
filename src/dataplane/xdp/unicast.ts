// The frontend MACs of an XDP instance on its FRONTEND interface's receive filter. XDP runs after the
// NIC's filter: a frame sent to a frontend MAC that is not the interface's own is dropped by the
// hardware unless that MAC is in the interface's unicast list (or the interface is promiscuous). So
// every service MAC the interface does not own is added to its unicast list by rtnetlink (what
// `bridge fdb add MAC dev IF self permanent` does, src/kernel/rtnl-neigh.ts); where the driver refuses,
// the interface is made promiscuous instead. Both outlive the daemon like the attachment does: a
// restarted daemon finds the entries and adopts them without removing anything (hitless). They are
// removed when the MAC, the port or the instance goes (or the instance leaves XDP). See docs/xdp.md.
import type { ResolvedPort } from '../../core/model.js';
import { ERRNO } from '../../kernel/errno.js';
import { NetlinkError, type RtnlSocket, withRtnl } from '../../kernel/netlink.js';
import {
  IFF_PROMISC,
  linkFlags,
  setPromisc,
  uclistAdd,
  uclistDel,
  uclistRead,
} from '../../kernel/rtnl-neigh.js';

/** What the filter holds on the frontend interface, for the plane's readers and the tests. */
export interface UnicastState {
  ifname?: string;
  /** MACs this instance keeps in the interface's unicast list. */
  macs: string[];
  /** The interface is promiscuous because its driver refused a MAC (and lbdsr turned it on). */
  promisc: boolean;
  /** The last refusal of the driver, when promiscuous mode stands in. */
  refused?: string;
}

/** Whether a netlink error only says the interface is gone (nothing left to undo there). */
function gone(e: unknown): boolean {
  return e instanceof NetlinkError && (e.errno === ERRNO.ENODEV || e.errno === ERRNO.ENOENT);
}

export class UnicastFilter {
  private port: ResolvedPort | undefined;
  /** MACs in the port's unicast list that are this instance's (added or adopted). */
  private held = new Set<string>();
  private promisc = false;
  private refused: string | undefined;
  /** What the last sync brought the interface to (port and MACs): the same again costs no netlink. */
  private synced: string | undefined;

  /**
   * Brings the filter of the frontend interface in line with the service MACs `macs` (those the
   * interface does not own need it): adds what is missing (adopting what is already there: nothing is
   * removed and added again), removes what is no longer wanted, and from the old interface everything
   * when the port moved. A plan that changes none of that (a pool change) costs nothing here. Throws
   * when a netlink request fails for another reason than the driver refusing.
   */
  sync(port: ResolvedPort | undefined, macs: Iterable<string>): void {
    if (this.port && this.port.ifindex !== port?.ifindex) this.clear();
    if (!port) return;
    this.port = port;
    const own = port.mac.toLowerCase();
    const want = new Set([...macs].filter((m) => m !== own));
    const key = `${port.ifindex}/${own}/${[...want].sort().join(',')}`;
    if (key === this.synced) return;
    this.synced = undefined;
    withRtnl((nl) => {
      for (const m of this.held) {
        if (want.has(m)) continue;
        this.remove(nl, port.ifindex, m);
        this.held.delete(m);
      }
      const present = new Set(uclistRead(nl, port.ifindex));
      let refused: string | undefined;
      for (const m of want) {
        if (present.has(m)) {
          this.held.add(m);
          continue;
        }
        try {
          uclistAdd(nl, port.ifindex, m);
          this.held.add(m);
        } catch (e) {
          if (!(e instanceof NetlinkError) || e.errno === ERRNO.ENODEV) throw e;
          refused = e.message;
        }
      }
      this.setPromisc(nl, port.ifindex, refused);
    });
    this.synced = key;
  }

  /** Promiscuous mode on while a MAC was refused (lbdsr's own, remembered), off again when none is. */
  private setPromisc(nl: RtnlSocket, ifindex: number, refused: string | undefined): void {
    this.refused = refused;
    const on = (linkFlags(nl, ifindex) & IFF_PROMISC) !== 0;
    if (refused) {
      // Already on: an adopted instance's own (a previous daemon turned it on), or the administrator's.
      if (!on) setPromisc(nl, ifindex, true);
      this.promisc = true;
    } else if (this.promisc) {
      if (on) setPromisc(nl, ifindex, false);
      this.promisc = false;
    }
  }

  private remove(nl: RtnlSocket, ifindex: number, mac: string): void {
    try {
      uclistDel(nl, ifindex, mac);
    } catch (e) {
      if (!gone(e)) throw e;
    }
  }

  /** Takes everything this instance added off the interface (a vanished interface is fine). */
  clear(): void {
    const port = this.port;
    this.port = undefined;
    this.synced = undefined;
    if (!port) return;
    const held = [...this.held];
    this.held.clear();
    const promisc = this.promisc;
    this.promisc = false;
    this.refused = undefined;
    try {
      withRtnl((nl) => {
        for (const m of held) this.remove(nl, port.ifindex, m);
        if (promisc) setPromisc(nl, port.ifindex, false);
      });
    } catch (e) {
      if (!gone(e)) throw e;
    }
  }

  /** What the filter holds now. */
  state(): UnicastState {
    const s: UnicastState = { macs: [...this.held].sort(), promisc: this.promisc };
    if (this.port) s.ifname = this.port.ifname;
    if (this.refused) s.refused = this.refused;
    return s;
  }
}

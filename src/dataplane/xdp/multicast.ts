// The IPv6 VIPs' solicited-node multicast MACs on the FRONTEND interface's multicast filter. A
// Neighbor Solicitation for a VIP is sent to the VIP's solicited-node address (ff02::1:ffXX:XXXX),
// Ethernet 33:33:ff:XX:XX:XX; a real NIC drops such a frame before XDP sees it unless that MAC is in
// its multicast list. So in L2 mode (the program answers NS: CFG_NO_ARP clear) every IPv6 VIP's MAC
// is added (src/kernel/maddr.ts, like `ip maddr add`), and removed when the VIP goes, when the
// instance stops answering (ROUTED, standby), when the port moves and when the plane closes. Like the
// unicast list (unicast.ts) the entries outlive a daemon stopped with its program kept: a restarted
// daemon adopts what is there (adding is idempotent). See docs/xdp.md.
import { formatMac, multicastMacOf, solicitedNodeOf } from '../../core/addr.js';
import { LbdsrError } from '../../core/errors.js';
import type { ResolvedPort } from '../../core/model.js';
import { maddrAdd, maddrDel } from '../../kernel/maddr.js';

/** The Ethernet multicast MAC a Neighbor Solicitation for `vip6` is sent to. */
export const solicitedNodeMac = (vip6: Uint8Array): string =>
  formatMac(multicastMacOf(solicitedNodeOf(vip6)));

export class MulticastFilter {
  private port: ResolvedPort | undefined;
  /** MACs this instance keeps in the port's multicast list. */
  private readonly held = new Set<string>();

  /**
   * Brings the FRONTEND interface's multicast list in line with the IPv6 VIPs `vips6` (empty when the
   * program does not answer NS): adds what is missing, removes what is no longer wanted, and from the
   * old interface everything when the port moved.
   */
  sync(port: ResolvedPort | undefined, vips6: Iterable<Uint8Array>): void {
    if (this.port && this.port.ifindex !== port?.ifindex) this.clear();
    if (!port) return;
    this.port = port;
    const want = new Set<string>();
    for (const v of vips6) want.add(solicitedNodeMac(v));
    for (const m of [...this.held]) {
      if (want.has(m)) continue;
      this.del(port, m);
      this.held.delete(m);
    }
    for (const m of want) {
      if (this.held.has(m)) continue;
      try {
        maddrAdd(port.ifname, m);
      } catch (e) {
        throw new LbdsrError(
          'LBDSR_INTERNAL',
          `${port.ifname}: the multicast address ${m} of an IPv6 VIP could not be added: ${(e as Error).message}`,
          { cause: e },
        );
      }
      this.held.add(m);
    }
  }

  private del(port: ResolvedPort, mac: string): void {
    try {
      maddrDel(port.ifname, mac);
    } catch (e) {
      throw new LbdsrError(
        'LBDSR_INTERNAL',
        `${port.ifname}: the multicast address ${mac} could not be removed: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  /** Takes everything this instance added off the interface (a vanished interface is fine). */
  clear(): void {
    const port = this.port;
    this.port = undefined;
    if (!port) return;
    const held = [...this.held];
    this.held.clear();
    for (const m of held) this.del(port, m);
  }

  /** The MACs held, sorted. */
  macs(): string[] {
    return [...this.held].sort();
  }
}

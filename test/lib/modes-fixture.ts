// Addresses the frontend modes' tests and corpus scenarios share (docs/semantics.md, "Frontend modes"):
// the VIPs, the configured frontend MACs, the FRONTEND interface's own MAC (ROUTED's next hop, one-arm's
// one interface), the backend port's MAC, the probe address and its MAC, the node's own address, and the
// service `web` of VIP2 with its own configured MAC.
import type { ServiceConfig } from '../../src/core/model.js';

export const VIP = '10.0.0.100';
export const VIP2 = '10.0.0.110';
export const FE_MAC = 'aa:bb:cc:dd:ee:ff';
/** The frontend MAC configured on service `web` (of VIP2). */
export const WEB_MAC = '0a:00:00:00:01:10';
/** The FRONTEND interface's MAC (ROUTED's next hop; in one-arm also the backend port's). */
export const IF_MAC = '02:00:00:00:fe:01';
export const BP_MAC = '02:00:00:00:be:01';
export const CLIENT_MAC = '52:54:00:00:00:01';
export const PROBE_IP = '10.0.1.250';
/** probeMacOf(PROBE_IP), written out: 02:db and the four bytes of the address. */
export const PROBE_MAC = '02:db:0a:00:01:fa';
/** The balancer node's own address on the shared NIC (its BGP session, management). */
export const NODE_IP = '10.0.0.5';

/** Service `web`: VIP2, TCP 443, its own frontend MAC (WEB_MAC), one backend of id `backendId`. */
export function webService(backendId: number): ServiceConfig {
  const hex = backendId.toString(16).padStart(2, '0');
  return {
    name: 'web',
    vip: VIP2,
    protocol: 'TCP',
    port: 443,
    mac: WEB_MAC,
    backend: { pool: [{ id: backendId, mac: `02:00:00:00:00:${hex}` }] },
  };
}

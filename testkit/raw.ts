// A plain AF_PACKET socket (RawSocket) on an interface of a namespace, for tests and benches that
// inject frames on one side of a topology and capture them on the other.
import { RawSocket } from '../src/kernel/afpacket.js';
import { IfProber, inNetns } from '../src/kernel/ifinfo.js';

/** A RawSocket on `ifname` in namespace `ns` (receiving when `receive`; never its own frames). */
export function rawIn(ns: string, ifname: string, receive: boolean): RawSocket {
  return inNetns(ns, () => {
    const p = new IfProber();
    try {
      const info = p.get(ifname);
      if (!info) throw new Error(`${ifname} not found in ${ns}`);
      return new RawSocket(info.ifindex, { receive, ignoreOutgoing: true });
    } finally {
      p.close();
    }
  });
}

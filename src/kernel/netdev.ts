// Linux network interfaces as the daemon and the data planes see them, read from sysfs.
import { readFileSync } from 'node:fs';

export interface NetDev {
  name: string;
  ifindex: number;
  mac: string;
  /** Administratively up and the carrier present (operstate up, or unknown for loopback-like devices). */
  up: boolean;
}

const NAME_RE = /^[A-Za-z0-9_.:@-]{1,15}$/;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Returns the interface, or undefined when it does not exist (or the name is not a valid ifname). */
export function getNetDev(name: string): NetDev | undefined {
  if (!NAME_RE.test(name) || name === '.' || name === '..') return undefined;
  const base = `/sys/class/net/${name}`;
  const ifindex = read(`${base}/ifindex`);
  if (ifindex === undefined) return undefined;
  const mac = read(`${base}/address`) ?? '00:00:00:00:00:00';
  const oper = read(`${base}/operstate`) ?? 'unknown';
  const flags = Number.parseInt(read(`${base}/flags`) ?? '0', 16);
  const adminUp = (flags & 1) === 1;
  return { name, ifindex: Number(ifindex), mac, up: adminUp && (oper === 'up' || oper === 'unknown') };
}

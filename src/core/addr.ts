import { LbdsrError } from './errors.js';

const MAC_RE =
  /^([0-9a-fA-F]{2})([:-])([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})$/;

/** Parses "aa:bb:cc:dd:ee:ff" (or with dashes) into 6 bytes. */
export function parseMac(text: string): Uint8Array {
  if (typeof text !== 'string')
    throw new LbdsrError('LBDSR_BAD_MAC', `MAC address must be a string, got ${typeof text}`);
  const out = new Uint8Array(6);
  if (parseMacInto(text, out)) return out;
  const m = MAC_RE.exec(text.trim());
  if (!m)
    throw new LbdsrError(
      'LBDSR_BAD_MAC',
      `'${text}' is not a MAC address (expected six hex pairs like aa:bb:cc:dd:ee:ff)`,
    );
  for (let i = 0; i < 6; i++) out[i] = Number.parseInt(m[i === 0 ? 1 : i + 2]!, 16);
  return out;
}

/** The value of a hex digit's char code, or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/**
 * The fast path of parseMac for the usual form (17 characters, no surrounding blanks): char codes, no
 * regex and no substrings, since a pool of 4,096 backends is parsed on every change. False when `text`
 * is not in that form (the regex then decides).
 */
function parseMacInto(text: string, out: Uint8Array): boolean {
  if (text.length !== 17) return false;
  const sep = text.charCodeAt(2);
  if (sep !== 58 && sep !== 45) return false;
  for (let i = 0; i < 6; i++) {
    const hi = hexDigit(text.charCodeAt(i * 3));
    const lo = hexDigit(text.charCodeAt(i * 3 + 1));
    if (hi < 0 || lo < 0 || (i < 5 && text.charCodeAt(i * 3 + 2) !== sep)) return false;
    out[i] = (hi << 4) | lo;
  }
  return true;
}

const scratch = new Uint8Array(6);

/**
 * Whether `text` is the MAC `bytes` in the usual form (six hex pairs, `:` or `-`), without allocating:
 * a change of one backend among 4,096 finds the other MACs as they were.
 */
export function macTextIs(text: string, bytes: Uint8Array): boolean {
  if (typeof text !== 'string' || !parseMacInto(text, scratch)) return false;
  for (let i = 0; i < 6; i++) if (scratch[i] !== bytes[i]) return false;
  return true;
}

/** Whether `text` is already a MAC in lower-case colon form (what normalizeMac gives). */
function isCanonicalMac(text: string): boolean {
  if (text.length !== 17) return false;
  for (let i = 0; i < 17; i++) {
    const c = text.charCodeAt(i);
    const ok = i % 3 === 2 ? c === 58 : (c >= 48 && c <= 57) || (c >= 97 && c <= 102);
    if (!ok) return false;
  }
  return true;
}

export function formatMac(b: Uint8Array, off = 0): string {
  let s = '';
  for (let i = 0; i < 6; i++) {
    if (i) s += ':';
    s += (b[off + i]! < 16 ? '0' : '') + b[off + i]!.toString(16);
  }
  return s;
}

/** Normalises a MAC string to lower-case colon form, throwing LBDSR_BAD_MAC when malformed. */
export function normalizeMac(text: string): string {
  if (typeof text === 'string' && isCanonicalMac(text)) return text;
  return formatMac(parseMac(text));
}

export function isGroupMac(b: Uint8Array): boolean {
  return (b[0]! & 1) === 1;
}

export function isZeroMac(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

/** Parses dotted-quad IPv4 into a uint32 (host order: a.b.c.d -> a<<24|...). */
export function parseIpv4(text: string): number {
  if (typeof text !== 'string')
    throw new LbdsrError('LBDSR_BAD_IPV4', `IPv4 address must be a string, got ${typeof text}`);
  const parts = text.trim().split('.');
  if (parts.length !== 4)
    throw new LbdsrError('LBDSR_BAD_IPV4', `'${text}' is not an IPv4 address (expected a.b.c.d)`);
  let v = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) {
      throw new LbdsrError('LBDSR_BAD_IPV4', `'${text}' is not an IPv4 address (octet '${p}' is not 0-255)`);
    }
    v = v * 256 + Number(p);
  }
  return v >>> 0;
}

export function formatIpv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** A VIP must be a unicast host address: not 0/8, loopback, multicast, reserved or broadcast. */
export function checkVip(text: string): number {
  const v = parseIpv4(text);
  const a = v >>> 24;
  if (a === 0 || a === 127 || a >= 224 || v === 0xffffffff) {
    throw new LbdsrError(
      'LBDSR_BAD_VIP',
      `VIP ${text} is not a unicast address (0/8, 127/8, multicast and reserved ranges are not allowed)`,
    );
  }
  return v;
}

/**
 * The MAC lbdsr answers ARP with for an instance's `probe_ip` on the BACKEND port, and the source of its
 * health-check probes: locally administered 02:db followed by the four bytes of the address, so that
 * two balancers with different probe addresses never share it (docs/health.md).
 */
export function probeMacOf(ip: number): Uint8Array {
  return Uint8Array.of(0x02, 0xdb, (ip >>> 24) & 0xff, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff);
}

/**
 * Parses an IPv6 address (RFC 4291 text: `::` once at most, an embedded dotted quad at the end, no zone,
 * no prefix) into its 16 bytes as on the wire. Refuses anything else with LBDSR_BAD_IPV6.
 */
export function parseIpv6(text: string): Uint8Array {
  const bad = (why: string) => new LbdsrError('LBDSR_BAD_IPV6', `'${text}' is not an IPv6 address (${why})`);
  if (typeof text !== 'string')
    throw new LbdsrError('LBDSR_BAD_IPV6', `IPv6 address must be a string, got ${typeof text}`);
  const t = text.trim();
  if (t.length === 0 || t.length > 45 || !/^[0-9a-fA-F:.]+$/.test(t))
    throw bad('only hex digits, ":" and "."');
  const halves = t.split('::');
  if (halves.length > 2) throw bad('"::" more than once');
  const groups = (s: string): number[] => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    parts.forEach((p, i) => {
      if (i === parts.length - 1 && p.includes('.')) {
        const v = parseIpv4(p);
        out.push(v >>> 16, v & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(Number.parseInt(p, 16));
      else throw bad(`group '${p}'`);
    });
    return out;
  };
  let head: number[];
  let tail: number[];
  try {
    head = groups(halves[0] ?? '');
    tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  } catch (e) {
    if (e instanceof LbdsrError && e.code === 'LBDSR_BAD_IPV6') throw e;
    throw bad('bad embedded IPv4');
  }
  if (halves.length === 1 && head.length !== 8) throw bad('8 groups expected');
  if (halves.length === 2 && head.length + tail.length > 7) throw bad('too many groups');
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const b = new Uint8Array(16);
  all.forEach((g, i) => {
    b[2 * i] = g >>> 8;
    b[2 * i + 1] = g & 0xff;
  });
  return b;
}

/** RFC 5952 text of 16 address bytes at `off`: lower case, the longest run (2+) of zero groups as `::`. */
export function formatIpv6(b: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Whether `text` is written as an IPv6 address (has a colon); parse it to know it is valid. */
export function looksIpv6(text: string): boolean {
  return typeof text === 'string' && text.includes(':');
}

/**
 * An IPv6 VIP must be a global or unique-local unicast address: not unspecified, loopback, multicast,
 * link-local, or IPv4-mapped (an IPv4 VIP is written as IPv4).
 */
export function checkVip6(text: string): Uint8Array {
  const b = parseIpv6(text);
  const zeroUpTo = (n: number) => b.subarray(0, n).every((x) => x === 0);
  const unspecOrLoop = zeroUpTo(15) && (b[15] === 0 || b[15] === 1);
  const mapped = zeroUpTo(10) && b[10] === 0xff && b[11] === 0xff;
  const linkLocal = b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
  if (unspecOrLoop || mapped || b[0] === 0xff || linkLocal) {
    throw new LbdsrError(
      'LBDSR_BAD_VIP',
      `VIP ${text} is not a routable unicast IPv6 address (unspecified, loopback, multicast, link-local and IPv4-mapped are not allowed)`,
    );
  }
  return b;
}

/** The solicited-node multicast address of `addr` (RFC 4291 2.7.1): ff02::1:ff followed by its last 3 bytes. */
export function solicitedNodeOf(addr: Uint8Array): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = 0xff;
  b[1] = 0x02;
  b[11] = 0x01;
  b[12] = 0xff;
  b[13] = addr[13]!;
  b[14] = addr[14]!;
  b[15] = addr[15]!;
  return b;
}

/** The Ethernet multicast MAC of an IPv6 multicast address (RFC 2464 7): 33:33 and its last 4 bytes. */
export function multicastMacOf(addr: Uint8Array): Uint8Array {
  return Uint8Array.of(0x33, 0x33, addr[12]!, addr[13]!, addr[14]!, addr[15]!);
}

/**
 * The link-local IPv6 address of a MAC by modified EUI-64 (RFC 4291 appendix A): fe80:: followed by the
 * MAC with ff:fe in its middle and the universal/local bit flipped. The health prober's IPv6 source is
 * the link-local address of the probe MAC (docs/health.md), so answers come back to the probe MAC.
 */
export function linkLocalOf(mac: Uint8Array): Uint8Array {
  return Uint8Array.of(
    0xfe,
    0x80,
    0,
    0,
    0,
    0,
    0,
    0,
    mac[0]! ^ 2,
    mac[1]!,
    mac[2]!,
    0xff,
    0xfe,
    mac[3]!,
    mac[4]!,
    mac[5]!,
  );
}

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

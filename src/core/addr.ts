import { LbdsrError } from './errors.js';

const MAC_RE =
  /^([0-9a-fA-F]{2})([:-])([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})$/;

/** Parses "aa:bb:cc:dd:ee:ff" (or with dashes) into 6 bytes. */
export function parseMac(text: string): Uint8Array {
  if (typeof text !== 'string')
    throw new LbdsrError('LBDSR_BAD_MAC', `MAC address must be a string, got ${typeof text}`);
  const m = MAC_RE.exec(text.trim());
  if (!m)
    throw new LbdsrError(
      'LBDSR_BAD_MAC',
      `'${text}' is not a MAC address (expected six hex pairs like aa:bb:cc:dd:ee:ff)`,
    );
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = Number.parseInt(m[i === 0 ? 1 : i + 2]!, 16);
  return out;
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

// `lbdsrctl lbdsr NAME vips show` for people: one row per VIP (reachable or withdrawn and why, since
// when, each service with its serving backends as `name:count`). -json and -yaml show the answer as is.
import { table } from './format.js';

interface VipRow {
  vip?: unknown;
  reachable?: unknown;
  reason?: unknown;
  since?: unknown;
  services?: Array<{ name?: unknown; serving?: unknown }>;
}

export function vipsTable(vips: unknown[]): string {
  const rows = (vips as VipRow[]).map((v) => ({
    vip: v.vip,
    reachable: v.reachable === true ? 'yes' : 'no',
    reason: v.reason,
    since: v.since,
    services: (v.services ?? []).map((s) => `${String(s.name)}:${String(s.serving)}`).join(' '),
  }));
  return table(rows, ['vip', 'reachable', 'reason', 'since', 'services']);
}

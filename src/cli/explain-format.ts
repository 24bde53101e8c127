// lbdsrctl's text for `lbdsr NAME explain ...`: the answer of POST /lbdsr/{name}/explain (the
// ExplainResult of src/pipeline/explain.ts) as a few aligned lines, the decision first. -json / -yaml
// print the answer as it came.
import { align } from './format.js';

interface Answer {
  plane?: string;
  port?: string;
  verdict?: string;
  drop?: string;
  rule?: string;
  why?: string;
  service?: { index: number; name: string; vip: string; proto: string; port: number; algorithm: string };
  session?: { verdict: string; age_ms?: number; backend?: number; slot?: number };
  maglev?: { hash: number; index: number };
  backend?: { service: string; id: number; slot: number; mac: string };
}

export function explainText(data: unknown): string {
  const a = (data ?? {}) as Answer;
  const rows: string[][] = [];
  const decision = a.drop === undefined ? (a.verdict ?? '?') : `DROP ${a.drop}`;
  rows.push(['verdict', `${decision}  (rule ${a.rule ?? '?'}: ${a.why ?? ''})`]);
  const s = a.service;
  if (s) {
    const match = `${s.vip} ${s.proto}${s.port ? `/${s.port}` : ''}`;
    rows.push(['service', `${s.name} (index ${s.index}, ${match}, ${s.algorithm})`]);
  }
  const ss = a.session;
  if (ss) {
    const found =
      ss.backend === undefined
        ? ''
        : ` backend ${ss.backend} (slot ${ss.slot}), last packet ${ss.age_ms} ms ago`;
    rows.push(['session', `${ss.verdict}${found}`]);
  }
  if (a.maglev)
    rows.push(['maglev', `entry ${a.maglev.index} (hash 0x${a.maglev.hash.toString(16).padStart(8, '0')})`]);
  const b = a.backend;
  if (b) rows.push(['backend', `${b.id} of ${b.service} (slot ${b.slot}), MAC ${b.mac}`]);
  rows.push(['plane', `${a.plane ?? '?'}, frame on the ${a.port ?? '?'} port`]);
  return align(rows.map(([k, v]) => [`${k}:`, v ?? ''])).join('\n');
}

// Runs every vector of the corpus (test/vectors/*.json) through the TypeScript Balancer and compares
// verdict, drop reason (and the rule a host_pass PASS spared), output bytes, chosen backend, counter
// movements and final sessions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIpv4, formatIpv6 } from '../../src/core/addr.js';
import { ACT_PASS, DROP_REASON_NAMES, verdictAction, verdictReason } from '../../src/core/constants.js';
import type { SessionSettings } from '../../src/core/model.js';
import { Balancer } from '../../src/pipeline/balancer.js';
import {
  checkSessions,
  checkVector,
  loadVectors,
  runVector,
  type Vector,
  type VectorSession,
} from '../lib/vectors.js';

const vectors = loadVectors();

test('the corpus is present and covers every drop reason the pipeline can give', () => {
  assert.ok(vectors.length >= 15, `only ${vectors.length} vectors`);
  const reasons = new Set(vectors.flatMap((v) => v.steps.map((s) => s.expect.reason).filter(Boolean)));
  // Every reason but NONE and TX_FAILED (a port that cannot take a frame: not a frame's own doing).
  for (const r of DROP_REASON_NAMES.filter((n) => n !== 'NONE' && n !== 'TX_FAILED')) {
    assert.ok(reasons.has(r), `no vector expects ${r}`);
  }
  const effects = new Set(vectors.flatMap((v) => v.steps.map((s) => s.expect.session)));
  for (const e of ['HIT', 'MISS', 'EXPIRED', 'STALE', 'NONE'])
    assert.ok(effects.has(e as never), `no vector expects ${e}`);
});

/**
 * A PASS of host_pass carries the rule it spared in its verdict's reason byte (docs/semantics.md,
 * "Frontend modes"), which explain reads; StepResult has no room for it (the XDP program's verdict is
 * XDP_PASS alone), so it is checked here, on the Balancer's own verdicts.
 */
function passReasons(v: Vector, verdicts: readonly number[]): string[] {
  const errs: string[] = [];
  v.steps.forEach((s, i) => {
    const verdict = verdicts[i]!;
    if (s.expect.action !== 'PASS' || verdictAction(verdict) !== ACT_PASS) return;
    const r = verdictReason(verdict);
    const got = r === 0 ? undefined : DROP_REASON_NAMES[r];
    if (got !== s.expect.reason)
      errs.push(`${v.name} step ${i}: PASS reason ${got}, expected ${s.expect.reason}`);
  });
  return errs;
}

for (const v of vectors) {
  test(`vector ${v.name}: ${v.description}`, () => {
    let balancer: Balancer | undefined;
    const verdicts: number[] = [];
    const results = runVector(v, (settings) => {
      const b = new Balancer(settings);
      balancer = b;
      return {
        configure: (c, p, o) => b.configure(c, p, o),
        process: (f, l, port, now) => {
          const verdict = b.process(f, l, port, now);
          verdicts.push(verdict);
          return verdict;
        },
        get lastBackendId() {
          return b.lastBackendId;
        },
        get outLen() {
          return b.outLen;
        },
        stats: () => b.stats(),
      };
    });
    const errs = checkVector(v, results);
    errs.push(...passReasons(v, verdicts));
    const held: VectorSession[] = [];
    balancer!.sessionTable.forEach((src, dst, sport, dport, proto, backend) => {
      held.push({ src: formatIpv4(src), dst: formatIpv4(dst), sport, dport, proto, backend });
    });
    const st6 = balancer!.sessionTable6;
    // an address is 4 key words, each the big-endian reading of 4 bytes
    const addr6 = (e: number, at: number) =>
      formatIpv6(
        Uint8Array.from({ length: 16 }, (_, i) => st6.keyWordAt(e, at + (i >> 2)) >>> (24 - 8 * (i & 3))),
      );
    st6.forEachEntry((e) => {
      const ports = st6.keyWordAt(e, 8);
      const [sport, dport] = [ports >>> 16, ports & 0xffff];
      const proto = st6.keyWordAt(e, 9);
      held.push({ src: addr6(e, 0), dst: addr6(e, 4), sport, dport, proto, backend: st6.backendIdAt(e) });
    });
    errs.push(...checkSessions(v, held));
    assert.deepEqual(errs, []);
  });
}

test('the checker notices a wrong byte, backend, reason or session effect', () => {
  const make = (settings: ConstructorParameters<typeof Balancer>[0]) => new Balancer(settings);
  const pick = (name: string) => structuredClone(vectors.find((v) => v.name === name)!);
  const arp = pick('arp');
  const f = arp.steps[0]!.expect.frame!;
  arp.steps[0]!.expect.frame = f.slice(0, -2) + (f.endsWith('00') ? '01' : '00');
  assert.match(checkVector(arp, runVector(arp, make)).join('\n'), /output frame/);
  const tcp = pick('tcp-udp');
  const first = tcp.steps[0]!.expect;
  first.backend = first.backend === 1 ? 2 : 1;
  assert.match(checkVector(tcp, runVector(tcp, make)).join('\n'), /backend \d, expected/);
  const eth = pick('ethernet');
  eth.steps[0]!.expect.reason = 'VLAN';
  assert.match(checkVector(eth, runVector(eth, make)).join('\n'), /drop reason TRUNCATED, expected VLAN/);
  const pers = pick('persistence');
  pers.steps[pers.steps.length - 1]!.expect.session = 'MISS';
  assert.match(checkVector(pers, runVector(pers, make)).join('\n'), /session hit \+1, expected \+0/);
  // a host_pass PASS (FRONTEND_PASS) taken for a rule 1 PASS (BACKEND_PASS)
  const hp = pick('arp-host-pass');
  const passed = hp.steps.find((s) => s.expect.action === 'PASS' && s.expect.reason !== undefined)!;
  delete passed.expect.reason;
  assert.match(checkVector(hp, runVector(hp, make)).join('\n'), /frontendPass \+1, expected \+0/);
});

test('the checker notices per-port frames and bytes that do not move as the document says', () => {
  /** A Balancer whose snapshot loses one per-port figure (as a plane that forgot to count it). */
  const losing = (lose: (s: ReturnType<Balancer['stats']>) => void) => (settings: SessionSettings) => {
    const b = new Balancer(settings);
    const stats = b.stats.bind(b);
    b.stats = (now?: number) => {
      const s = stats(now);
      lose(s);
      return s;
    };
    return b;
  };
  const pick = (name: string) => structuredClone(vectors.find((v) => v.name === name)!);
  const errs = (name: string, lose: (s: ReturnType<Balancer['stats']>) => void) => {
    const v = pick(name);
    return checkVector(v, runVector(v, losing(lose))).join('\n');
  };
  assert.match(
    errs('backend-port', (s) => delete s.rx.backend),
    /rxBackendPackets \+0, expected \+1/,
  );
  assert.match(
    errs('arp', (s) => delete s.tx.frontendBytes),
    /txFrontendBytes \+0, expected \+42/,
  );
  assert.match(
    errs('tcp-udp', (s) => delete s.tx.backendBytes),
    /txBackendBytes \+0, expected \+\d+/,
  );
});

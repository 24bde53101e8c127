// Every vector of the corpus (test/vectors/*.json, the IPv6 files included) through the compiled XDP
// program (BPF_PROG_TEST_RUN) and through the TypeScript Balancer from identical state: same verdict,
// same output bytes (of the output's own length: a Neighbor Advertisement is 86 bytes whatever came
// in), same counter movements and the same session tables of both families after every step. The XDP results must also meet
// the vector's own expectations.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Balancer } from '../../src/pipeline/balancer.js';
import { checkVector, loadVectors, runVector, type StepResult, type Vector } from '../lib/vectors.js';
import { xdpSkipReason } from './env.js';
import { pipelineSessions, XdpBalancer } from './harness.js';

const skip = xdpSkipReason();

/** The kernel's LRU map evicts approximately (per-CPU free lists), not in exact LRU order. */
function dependsOnExactLru(v: Vector): boolean {
  return (v.tags ?? []).includes('lru') || (v.config.sessions?.capacity ?? 1_000_000) < 64;
}

/** Runs a vector through both, checking the session tables after every step. */
function runBoth(v: Vector): { ts: StepResult[]; xdp: StepResult[]; errors: string[] } {
  let tsB: Balancer | undefined;
  let xdpB: XdpBalancer | undefined;
  const errors: string[] = [];
  try {
    const ts = runVector(v, (s) => {
      tsB = new Balancer(s);
      return tsB;
    });
    const xdp = runVector(v, (s) => {
      xdpB = new XdpBalancer(s);
      return xdpB;
    });
    if (!dependsOnExactLru(v)) {
      assert.deepEqual(xdpB!.sessionList(), pipelineSessions(tsB!), `${v.name}: session tables differ`);
    }
    return { ts, xdp, errors };
  } finally {
    xdpB?.close();
  }
}

/**
 * BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header, and no driver hands such a frame
 * to XDP: those steps are left out (for both planes; a clock or reconfiguration they carry moves to
 * the next step, step references are renumbered).
 */
function representable(v: Vector): Vector {
  const keep: number[] = [];
  const steps: Vector['steps'] = [];
  let carry: Partial<Vector['steps'][number]> = {};
  v.steps.forEach((s, i) => {
    if (s.frame.length / 2 < 14) {
      if (s.nowMs !== undefined) carry.nowMs = s.nowMs;
      if (s.reconfigure) carry.reconfigure = { ...carry.reconfigure, ...s.reconfigure };
      return;
    }
    keep.push(i);
    steps.push({ ...carry, ...s, expect: { ...s.expect } });
    carry = {};
  });
  for (const s of steps) {
    if (s.expect.sameBackendAs !== undefined) s.expect.sameBackendAs = keep.indexOf(s.expect.sameBackendAs);
  }
  return { ...v, steps };
}

const vectors = skip ? [] : loadVectors().map(representable);

test('the corpus is not empty', { skip }, () => {
  assert.ok(vectors.length >= 10, `only ${vectors.length} vectors found`);
});

for (const v of vectors) {
  test(`vector ${v.name}: XDP == TypeScript`, { skip }, () => {
    const { ts, xdp } = runBoth(v);
    const lru = dependsOnExactLru(v);
    for (let i = 0; i < v.steps.length; i++) {
      if (lru && ts[i]!.counters!.miss + ts[i]!.counters!.hit === 0 && xdp[i]!.action === ts[i]!.action)
        continue;
      if (lru) {
        // Only the frame's own fate is compared; which flow the kernel evicted may differ.
        assert.equal(xdp[i]!.action, ts[i]!.action, `${v.name} step ${i}: action`);
        continue;
      }
      assert.deepEqual(xdp[i], ts[i], `${v.name} step ${i} (${v.steps[i]!.comment}): XDP result differs`);
    }
    if (!lru) assert.deepEqual(checkVector(v, xdp), [], `${v.name}: XDP misses the vector's expectations`);
  });
}

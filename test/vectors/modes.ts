// The frontend modes' scenarios of the corpus (docs/semantics.md, "Frontend modes"), written with the
// builder of generate.ts, which runs them after its own (the files follow its numbering).
import type { Vector } from '../lib/vectors.js';
import { arpVector, ipMalformedVector, l2Vector, type Variant } from './generate.js';

const HOST_PASS: Variant = {
  name: 'host-pass',
  description:
    'with host_pass, every frame rules 3, 4, 5 and 7 would drop is passed to the host (PASS, FRONTEND_PASS)',
  config: { host_pass: true },
};

export const MODE_SCENARIOS: (() => Vector)[] = [
  () => arpVector(HOST_PASS),
  () => l2Vector(HOST_PASS),
  () => ipMalformedVector(HOST_PASS),
];

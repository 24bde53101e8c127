// lbdsr's public entry: the pure pipeline and its types. The daemon (bin/lbdsrd) and the CLI
// (bin/lbdsrctl) are separate entry points.
export * from './core/addr.js';
export * from './core/constants.js';
export * from './core/errors.js';
export { jhash2 } from './core/jhash.js';
export { buildMaglev } from './core/maglev.js';
export * from './core/model.js';
export { Balancer } from './pipeline/balancer.js';
export { ControlState } from './pipeline/control.js';
export * from './pipeline/plan.js';
export { SessionTable } from './pipeline/session-table.js';

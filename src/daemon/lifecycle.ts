// The daemon's life outside requests: the configuration restored at start (each instance validated and
// its data plane attached), and the interface watch that re-attaches a data plane when the peers of its
// ports appear, disappear or change.
import { randomUUID } from 'node:crypto';
import { describeError } from '../core/errors.js';
import { validateInstance } from './config.js';
import type { Instances } from './instances.js';
import { type Logger, resolvePorts, samePorts } from './planes.js';
import { loadState } from './store.js';

/** Loads the saved configuration; an instance whose data plane cannot attach is kept, and logged. */
export async function restore(stateDir: string, instances: Instances, log: Logger): Promise<void> {
  const state = loadState(stateDir);
  for (const stored of state.instances) {
    const { config } = validateInstance(stored, {
      old: stored,
      others: instances.all(),
      interfaceExists: () => true,
      newUuid: randomUUID,
    });
    instances.adopt(config);
    try {
      await instances.planes.reconcile(config, resolvePorts(config, instances.netdev), false);
    } catch (e) {
      log.error(
        { instance: config.name, err: describeError(e) },
        'could not attach the data plane on restore',
      );
    }
  }
  if (state.instances.length) {
    log.info({ instances: instances.all().map((i) => i.name) }, 'configuration restored');
  }
}

/**
 * Starts the interface watch (every `periodMs`; 0 = off) and returns its stop function. A failed
 * re-attach is not retried until the interfaces change again.
 */
export function watchInterfaces(instances: Instances, log: Logger, periodMs: number): () => void {
  const tried = new Map<string, string>();
  const { planes, netdev } = instances;
  const pass = () =>
    instances.serial(async () => {
      for (const cfg of instances.all()) {
        const ports = resolvePorts(cfg, netdev);
        if (samePorts(ports, planes.ports(cfg.name) ?? {})) continue;
        const sig = JSON.stringify(ports);
        if (tried.get(cfg.name) === sig) continue;
        try {
          await planes.reconcile(cfg, ports, false);
          tried.delete(cfg.name);
          log.info({ instance: cfg.name, ports }, 'interfaces changed; data plane updated');
        } catch (e) {
          tried.set(cfg.name, sig);
          log.error(
            { instance: cfg.name, err: describeError(e) },
            'interfaces changed; data plane update failed',
          );
        }
      }
    });
  if (periodMs <= 0) return () => {};
  const timer = setInterval(() => void pass().catch(() => {}), periodMs);
  timer.unref();
  return () => clearInterval(timer);
}

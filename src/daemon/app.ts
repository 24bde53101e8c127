// lbdsrd's REST API, composed: fastify with the request plumbing (http.ts), the instances and their
// change pipeline (instances.ts), the configuration restored and the interface watch (lifecycle.ts),
// the routes by resource (routes/), and what the daemon shows of itself: metrics, rates, the event
// log (src/metrics/observe.ts, routes/metrics.ts, routes/events.ts), and the runtime of the backends
// (src/daemon/runtime: observations, health, drain, `app.runtime`), and the VIP announcements that follow
// them all (runtime/announce-runtime.ts: reachability, the announce file and command, withdrawn on a
// graceful close). Every change is computed on a
// copy of the instance, validated whole, applied to the data plane, persisted, and only then
// committed; changes run one at a time.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { PlaneType } from '../core/model.js';
import { createDataPlane, detectPlane } from '../dataplane/factory.js';
import { getNetDev, type NetDev } from '../kernel/netdev.js';
import { Observer, type ObserverOptions } from '../metrics/observe.js';
import { installPlumbing, serverOptions, type Transport } from './http.js';
import { IdleCollector } from './idle-gc.js';
import { Instances } from './instances.js';
import { withLibbpfLog } from './libbpf-log.js';
import { restore, watchInterfaces } from './lifecycle.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import { type PlaneFactory, PlaneManager } from './planes.js';
import { announceRoutes } from './routes/announce.js';
import type { RouteContext } from './routes/context.js';
import { eventRoutes } from './routes/events.js';
import { explainRoutes } from './routes/explain.js';
import { instanceRoutes } from './routes/instances.js';
import { maglevRoutes } from './routes/maglev.js';
import { trackMethods } from './routes/methods.js';
import { metricsRoutes } from './routes/metrics.js';
import { registerOpenApi } from './routes/openapi.js';
import { resourceRoutes } from './routes/resources.js';
import { sessionRoutes } from './routes/sessions.js';
import { statsRoutes } from './routes/stats.js';
import { vipRoutes } from './routes/vips.js';
import { webRoutes } from './routes/web.js';
import { Announcer, type AnnouncerOptions } from './runtime/announce-runtime.js';
import { Runtime, type RuntimeOptions } from './runtime/runtime.js';

export interface AppOptions {
  stateDir: string;
  /** pino level; 'silent' for tests. */
  logLevel?: string;
  /** Bearer token required on every request when set. */
  token?: string;
  /** The address the API listens on (Origin and Host may name it besides loopback; guard.ts). */
  listenHost?: string;
  /** TLS certificate and key (HTTPS) and the clients' timeouts (http.ts). */
  tls?: Transport['tls'];
  timeouts?: Transport['timeouts'];
  /** What the host can hold (limits.ts); the defaults read the host. */
  limits?: Partial<Limits>;
  /** Data-plane factory (defaults to src/dataplane/factory.ts). */
  planes?: PlaneFactory;
  /** Interface lookup (defaults to sysfs). */
  netdev?: (name: string) => NetDev | undefined;
  /** Period of the interface watch in ms (0 = off). Default 2000. */
  watchMs?: number;
  /** Time a data plane gets to apply a change before the request fails. Default 20000. */
  planeTimeoutMs?: number;
  /** Metrics, rates and the event log (src/metrics/observe.ts); the rate sampler ticks every second. */
  observe?: ObserverOptions;
  /** The runtime of the backends (src/daemon/runtime): drain watcher period, clock. */
  runtime?: RuntimeOptions;
  /** VIP announcements: the file and command of the reachable VIPs, the evaluation period. */
  announce?: AnnouncerOptions;
  /** Young-generation collections when the change queue is idle (idle-gc.ts); default on. */
  idleGc?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** What is live about the backends (observations, BackendStatus, sessions, drain): src/daemon/runtime. */
    runtime: Runtime;
  }
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify(serverOptions(opts.logLevel ?? 'info', opts)).withTypeProvider<TypeBoxTypeProvider>();
  const factory: PlaneFactory =
    opts.planes ??
    withLibbpfLog(
      { create: (kind: PlaneType, instance: string) => createDataPlane(kind, instance), detect: detectPlane },
      app.log,
    );
  const planes = new PlaneManager(factory, app.log, opts.planeTimeoutMs);
  const instances = new Instances(opts.stateDir, planes, opts.netdev ?? getNetDev, app.log);
  instances.limits = { ...DEFAULT_LIMITS, ...opts.limits };
  if (opts.idleGc !== false) instances.collector = new IdleCollector();
  const observer = new Observer(
    {
      instances: () => instances.all(),
      plane: (name) => planes.kind(name),
      stats: (config, walk) => planes.stats(config, { walk }),
      backends: (name) => runtime.statuses(name),
    },
    { onError: (e) => app.log.warn({ err: String(e) }, 'rate sampling failed'), ...opts.observe },
  );
  const runtime = new Runtime(instances, app.log, (name, e) => observer.events.record(name, e), opts.runtime);
  const announcer = new Announcer(
    instances,
    runtime.observed,
    (name, e, level) => runtime.event(name, e, level),
    app.log,
    opts.announce,
  );
  announcer.register(observer.metrics.registry);
  planes.onEvent = (e) => {
    observer.planeEvent(e);
    announcer.schedule();
  };
  runtime.onProbe = (name, key, ok, ms) => observer.metrics.probe(name, key, ok, ms);
  runtime.onObserved = () => announcer.schedule();
  planes.observe = (name) => runtime.observe(name);
  instances.onChange = (name, config) => {
    runtime.changed(name, config);
    announcer.schedule();
  };
  app.decorate('runtime', runtime);

  await restore(opts.stateDir, instances, app.log);
  try {
    announcer.start();
  } catch (e) {
    announcer.close();
    observer.close();
    await runtime.close();
    await planes.stopAll(true);
    throw e;
  }
  const stopWatch = watchInterfaces(instances, app.log, opts.watchMs ?? 2000);
  // a graceful shutdown withdraws every VIP before the planes go (XDP keeps forwarding without us)
  app.addHook('preClose', () => announcer.withdrawAll());
  app.addHook('onClose', async () => {
    instances.collector?.close();
    stopWatch();
    announcer.close();
    observer.close();
    await runtime.close();
    await instances.idle();
    await planes.stopAll(true);
  });

  installPlumbing(app, { token: opts.token, listenHost: opts.listenHost });
  await registerOpenApi(app);
  const methods = trackMethods(app);
  const ctx: RouteContext = { app, instances, runtime };
  instanceRoutes(ctx);
  resourceRoutes(ctx);
  sessionRoutes(ctx);
  maglevRoutes(ctx);
  statsRoutes(ctx, (name) => observer.rates.rates(name));
  announceRoutes(ctx);
  explainRoutes(ctx);
  eventRoutes(ctx, observer);
  metricsRoutes(ctx, observer);
  vipRoutes(ctx, announcer);
  webRoutes(ctx, opts.token !== undefined);
  methods.answerOtherMethods();
  return app;
}

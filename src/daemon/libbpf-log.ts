// libbpf's own messages (why an object failed to open or load, what it adjusted) into the daemon's log
// at the matching pino level, instead of libbpf's stderr. Installed lazily, the first time a plane that
// uses libbpf is created or the automatic choice probes for XDP: a daemon that runs only USERSPACE
// planes never loads the libbpf bindings (src/dataplane/factory.ts loads planes lazily for the same
// reason). The hook is process-wide, as libbpf's print function is.
import type { PlaneFactory } from './planes.js';

/** The part of a pino logger that libbpf's messages need. */
export interface LibbpfLogSink {
  /** pino's level name: libbpf's debug messages are formatted only when it is debug or trace. */
  readonly level: string;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Routes libbpf's messages to `log`: warn to warn, info to info, debug to debug. */
export async function routeLibbpfLog(log: LibbpfLogSink): Promise<void> {
  const { setLibbpfLogger } = await import('../kernel/libbpf.js');
  setLibbpfLogger((level, message) => log[level]({ src: 'libbpf' }, message), {
    debug: log.level === 'debug' || log.level === 'trace',
  });
}

/** `factory`, with libbpf's log routed to `log` before the first XDP plane or XDP probe. */
export function withLibbpfLog(factory: PlaneFactory, log: LibbpfLogSink): PlaneFactory {
  let routed: Promise<void> | undefined;
  // Without the bindings the message stays on stderr; planes and probes report their own errors.
  const route = () => {
    routed ??= routeLibbpfLog(log).catch((err: unknown) =>
      log.warn({ err }, 'libbpf messages cannot be routed into this log'),
    );
    return routed;
  };
  return {
    create: async (kind, instance) => {
      if (kind !== 'USERSPACE') await route();
      return factory.create(kind, instance);
    },
    detect: async (ports) => {
      await route();
      return factory.detect(ports);
    },
  };
}

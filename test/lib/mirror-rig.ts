// The compiled lbdsr object loaded on maps of its own (no interface), written the daemon's way: the
// control state plans each configuration and the plane's map mirror writes the plan (devmap: lo).
// For the tests that read the maps back or run the programs on them (test/xdp/services.test.ts,
// mirror6.test.ts); a restart is a new mirror adopting the maps with a new control state.
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig, type ServiceConfig } from '../../src/core/model.js';
import { XdpMaps } from '../../src/dataplane/xdp/maps.js';
import { type MirrorWrites, XdpMirror } from '../../src/dataplane/xdp/mirror.js';
import { type LoadedLbdsr, loadLbdsr } from '../../src/dataplane/xdp/object.js';
import { ControlState } from '../../src/pipeline/control.js';

/** The frontend MAC of the rigs' instances, and their BACKEND port's MAC. */
export const FE = 'aa:bb:cc:dd:ee:01';
export const BE_PORT = '02:00:00:00:00:fe';

/** An instance whose services are `services` (no `default`: its frontend has no VIP). */
export function servicesConfig(
  name: string,
  services: ServiceConfig[],
  capacity: number,
  more: Partial<InstanceConfig> = {},
): InstanceConfig {
  return {
    name,
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [],
    frontend: { mac: FE },
    backend: { pool: [] },
    services,
    sessions: { ...DEFAULT_SESSION_SETTINGS, capacity },
    ...more,
  };
}

export class MirrorRig {
  readonly ld: LoadedLbdsr;
  readonly maps: XdpMaps;
  control = new ControlState();
  mirror: XdpMirror;

  constructor(capacity: number) {
    this.ld = loadLbdsr({ capacity });
    this.maps = new XdpMaps(this.ld.fds);
    this.mirror = new XdpMirror(this.maps);
  }

  /** The daemon's road: the control state plans the change, the mirror writes it. */
  configure(c: InstanceConfig): MirrorWrites {
    return this.mirror.apply(this.control.apply(c, BE_PORT), 0, 1);
  }

  /** What a restarted daemon builds on the same maps: a mirror adopting them, a new control state. */
  restart(): void {
    this.mirror = new XdpMirror(this.maps);
    this.mirror.adopt();
    this.control = new ControlState();
  }

  close(): void {
    this.ld.obj.close();
  }
}

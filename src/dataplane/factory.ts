// Which data plane an instance gets: creating the USERSPACE or XDP plane of a kind, and the automatic
// choice (xdp/support.ts) when the configuration names none. Each plane is imported only when used.
import type { PlaneType, ResolvedPorts } from '../core/model.js';
import type { DataPlane } from './types.js';

/**
 * Creates the data plane of one instance. Planes are loaded lazily so that the daemon does not load
 * koffi or libbpf for a kind it does not use.
 */
export async function createDataPlane(kind: PlaneType, instance: string): Promise<DataPlane> {
  if (kind === 'USERSPACE') {
    const { UserspacePlane } = await import('./userspace/plane.js');
    return new UserspacePlane(instance);
  }
  const { XdpPlane } = await import('./xdp/plane.js');
  return new XdpPlane(instance, kind);
}

/**
 * The automatic choice when an instance has no `type`: the fastest plane that works on the ports'
 * interfaces. See docs/dataplanes.md.
 */
export async function detectPlane(ports: ResolvedPorts): Promise<PlaneType> {
  try {
    const { xdpSupport } = await import('./xdp/support.js');
    return await xdpSupport(ports);
  } catch {
    return 'USERSPACE';
  }
}

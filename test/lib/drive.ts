// A data plane driven on its own the way the daemon drives it: one PlaneDriver (the control state the
// plane holds) per plane, made at first use, so that a test applies configurations as plans.
import { PlaneDriver } from '../../src/dataplane/driver.js';
import type { DataPlane } from '../../src/dataplane/types.js';

const drivers = new WeakMap<DataPlane, PlaneDriver>();

export function drive(plane: DataPlane): PlaneDriver {
  let d = drivers.get(plane);
  if (!d) {
    d = new PlaneDriver(plane);
    drivers.set(plane, d);
  }
  return d;
}

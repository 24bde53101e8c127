// The USERSPACE worker's two ports, each following a Linux interface by name: a socket is opened when
// the interface appears, re-opened when it is re-created (new ifindex), closed when it vanishes, and
// the port's status (what /health shows) kept. The frontend port also joins the frontend MACs that are
// not the interface's own, so that the NIC delivers frames sent to them. Kernel access goes through
// WorkerIo (io.ts).
import type { FrontendSocket, InterfaceState, PortSocket } from './io.js';
import type { PortStatus } from './protocol.js';

export type Log = (level: 'info' | 'warn' | 'error', msg: string) => void;

export class Port<S extends PortSocket = PortSocket> {
  readonly role: 'frontend' | 'backend';
  /** The interface the port follows; undefined when the port has no peer. */
  ifname: string | undefined = undefined;
  sock: S | null = null;
  /** The interface's MAC as last seen. */
  mac: string | undefined = undefined;
  readonly status: PortStatus = { up: false, attached: false, ifindex: 0, opens: 0 };
  private readonly open: (ifindex: number, label: string | undefined) => S;
  protected readonly log: Log;

  constructor(
    role: 'frontend' | 'backend',
    open: (ifindex: number, label: string | undefined) => S,
    log: Log,
  ) {
    this.role = role;
    this.open = open;
    this.log = log;
  }

  close(): void {
    const sock = this.sock;
    this.sock = null;
    this.status.attached = false;
    if (!sock) return;
    try {
      sock.close();
    } catch (e) {
      this.log('error', `closing ${this.ifname}: ${(e as Error).message}`);
    }
  }

  /**
   * Follows the interface (`info`: as it is now, undefined when it does not exist): re-opens a socket
   * whose interface was re-created, closes a vanished one, opens one on a new one. Returns whether the
   * interface's MAC changed. A failed open is kept in status.lastError and tried again next time.
   */
  follow(info: InterfaceState | undefined): boolean {
    let macChanged = false;
    this.status.ifname = this.ifname;
    this.status.up = info?.up ?? false;
    if (info && info.mac !== this.mac) {
      this.mac = info.mac;
      macChanged = true;
    }
    if (this.sock && (!info || info.ifindex !== this.sock.ifindex)) {
      this.log('warn', `${this.ifname} ${info ? 'was re-created' : 'disappeared'}; port detached`);
      this.close();
    }
    if (!this.sock && info) {
      try {
        this.attach(info.ifindex);
      } catch (e) {
        const msg = (e as Error).message;
        if (this.status.lastError !== msg) this.log('error', `attaching ${this.ifname}: ${msg}`);
        this.status.lastError = msg;
      }
    }
    this.status.ifindex = this.sock ? this.sock.ifindex : 0;
    return macChanged;
  }

  protected attach(ifindex: number): void {
    this.sock = this.open(ifindex, this.ifname);
    this.status.attached = true;
    this.status.opens++;
    this.status.lastError = undefined;
    this.log('info', `${this.role} port attached to ${this.ifname} (ifindex ${ifindex})`);
  }
}

/** The frontend port, with the extra MACs it receives for. */
export class FrontendPort extends Port<FrontendSocket> {
  /** Frontend MACs currently joined on the socket. */
  private joined: string[] = [];
  /** The MACs the services answer for, given at the last sync. */
  private wanted: readonly string[] = [];

  constructor(open: (ifindex: number, label: string | undefined) => FrontendSocket, log: Log) {
    super('frontend', open, log);
  }

  /** The MACs joined now. */
  get memberships(): readonly string[] {
    return this.joined;
  }

  override close(): void {
    super.close();
    this.joined = [];
  }

  protected override attach(ifindex: number): void {
    super.attach(ifindex);
    this.joined = [];
    this.sync(this.wanted);
  }

  /**
   * Joins the service MACs in `macs` that the interface does not own, leaves the ones no longer
   * wanted. A MAC that cannot be joined is logged, kept in status.lastError and tried at the next sync.
   */
  sync(macs: readonly string[]): void {
    this.wanted = macs;
    const sock = this.sock;
    if (!sock) return;
    const want = [...new Set(macs)].filter((m) => m !== this.mac);
    for (const m of this.joined) {
      if (want.includes(m)) continue;
      try {
        sock.leave(m);
      } catch (e) {
        this.log('warn', `leaving ${m} on ${this.ifname}: ${(e as Error).message}`);
      }
    }
    const now: string[] = [];
    for (const m of want) {
      if (this.joined.includes(m)) {
        now.push(m);
        continue;
      }
      try {
        sock.join(m);
        now.push(m);
      } catch (e) {
        this.status.lastError = (e as Error).message;
        this.log('error', `joining ${m} on ${this.ifname}: ${(e as Error).message}`);
      }
    }
    this.joined = now;
  }
}

// The XDP data plane of one instance, composed: bpf/lbdsr.bpf.o loaded once (lifecycle.ts), attached
// by netlink to the FRONTEND port (and the BACKEND port, whose frames it drops; in one-arm, where both
// ports are one interface, only the FRONTEND program runs, on it) (attach.ts), everything
// pinned under /sys/fs/bpf/lbdsr/<instance>/ so that forwarding continues while the daemon is stopped
// and a restarted daemon adopts it. Configuration changes are map writes (mirror.ts); only a new
// session capacity replaces the program (atomically, the most recent sessions copied: capacity.ts). Statistics and the sessions
// listing are read by readout.ts. The frontend MACs go on the frontend interface's unicast list
// (unicast.ts), so that a real NIC lets their frames in, and are announced by gratuitous ARP
// (../announce.ts); the IPv6 VIPs' solicited-node MACs go on its multicast list (multicast.ts), so that
// Neighbor Solicitations for them come in too. See docs/xdp.md.
import { CFG_NO_ARP, SLOT_NONE } from '../../core/constants.js';
import { LbdsrError } from '../../core/errors.js';
import {
  DEFAULT_SESSION_SETTINGS,
  type ResolvedPort,
  type ResolvedPorts,
  type SessionEntry,
  type StatsSnapshot,
} from '../../core/model.js';
import { closeFd, dupFd, libbpfAvailable } from '../../kernel/libbpf.js';
import type { ExplainTrace } from '../../pipeline/explain.js';
import type { Plan, TimeoutsMs } from '../../pipeline/plan.js';
import { ServiceAnnouncer } from '../announce.js';
import type { DataPlane, MaglevTable, StatsOptions } from '../types.js';
import { type PortRole, XdpAttachments, type XdpKind } from './attach.js';
import { copyRecentSessions } from './capacity.js';
import { XdpExplainer } from './explain.js';
import { existingPinDir, type Loaded, pinMap, repin, XdpLifecycle } from './lifecycle.js';
import { readMaglevTable } from './maglev-read.js';
import { type MapFds, STRUCT_LAYOUTS } from './maps.js';
import { MulticastFilter } from './multicast.js';
import { loadLbdsr } from './object.js';
import { readSessions, readStats } from './readout.js';
import { countLiveSessions } from './session-counts.js';
import { UnicastFilter, type UnicastState } from './unicast.js';

export class XdpPlane implements DataPlane {
  readonly kind: XdpKind;
  readonly instance: string;
  private loaded: Loaded | null = null;
  /** Idle timeouts of the last plan, to judge which sessions are active. */
  private timeoutsMs: TimeoutsMs = {
    tcp: DEFAULT_SESSION_SETTINGS.timeouts.tcp * 1000,
    udp: DEFAULT_SESSION_SETTINGS.timeouts.udp * 1000,
    icmp: DEFAULT_SESSION_SETTINGS.timeouts.icmp * 1000,
  };
  private readonly ports: XdpAttachments;
  private readonly lifecycle: XdpLifecycle;
  /** The frontend MACs on the frontend interface's receive filter (unicast.ts). */
  private readonly unicast = new UnicastFilter();
  /** The IPv6 VIPs' solicited-node MACs on the frontend interface's multicast list (multicast.ts). */
  private readonly multicast = new MulticastFilter();
  /** Gratuitous ARP for new VIPs and MACs, and when the plane attaches (../announce.ts). */
  private readonly announcer = new ServiceAnnouncer();
  private closed = false;
  /** The explain program on this instance's maps (explain.ts), loaded on the first explain. */
  private explainer: XdpExplainer | null = null;

  constructor(instance: string, kind: XdpKind) {
    this.instance = instance;
    this.kind = kind;
    this.ports = new XdpAttachments(kind);
    this.lifecycle = new XdpLifecycle(instance, this.ports);
  }

  /** The pin directory when it exists (bpffs mounted, a name bpffs can hold, pins made). */
  private get dir(): string | undefined {
    return existingPinDir(this.instance);
  }

  /** Writes the plan's changes into the maps (the daemon checked the config when it made the plan). */
  async apply(plan: Plan, ports: ResolvedPorts): Promise<void> {
    if (this.closed) throw new LbdsrError('LBDSR_INTERNAL', `the XDP plane of ${this.instance} is closed`);
    if (!libbpfAvailable()) throw new LbdsrError('LBDSR_NOT_AVAILABLE', 'libbpf.so.1 is not installed');
    const capacity = plan.capacity;
    if (!this.loaded) this.loaded = this.openOrAdopt(capacity, ports);
    else if (this.loaded.capacity !== capacity) this.resize(capacity);
    const l = this.loaded;

    // One-arm (both ports one interface: CFG_ONE_ARM in the plan): only the FRONTEND program runs
    // there, and balanced frames leave by XDP_TX, so the devmap stays empty.
    const fe = ports.frontend;
    const be = ports.backend && ports.backend.ifindex !== fe?.ifindex ? ports.backend : undefined;
    l.mirror.apply(plan, ports.backend?.ifindex ?? 0, be?.ifindex ?? 0);
    this.timeoutsMs = { ...plan.settings.timeoutsMs };
    // The NIC lets the frontend MACs in before the program answers ARP for them.
    this.announcer.track(plan);
    this.unicast.sync(fe, this.announcer.macs());
    // NS for the IPv6 VIPs reach the program, which answers them unless CFG_NO_ARP (ROUTED, standby).
    const answersNs = (plan.settings.flags & CFG_NO_ARP) === 0;
    this.multicast.sync(fe, answersNs ? l.mirror.vips6() : []);
    this.attach('frontend', fe);
    this.attach('backend', be);
    // Adopted from an older release: what its program wrote until the swap is carried now.
    l.afterSwap?.();
    delete l.afterSwap;
    this.announcer.start(this.announcer.prepare(fe?.ifname));
  }

  /** The instance's objects (adopted or loaded, pinned), with the session capacity asked for. */
  private openOrAdopt(capacity: number, ports: ResolvedPorts): Loaded {
    const l = this.lifecycle.open(capacity, ports);
    this.loaded = l;
    if (l.capacity !== capacity) this.resize(capacity);
    return l;
  }

  /** Swaps the program of a port (atomic on the interface) and re-pins it. */
  private replaceProgram(l: Loaded, role: PortRole, newProgFd: number): void {
    this.lifecycle.replaceProgram(l, role, newProgFd);
  }

  /**
   * A new session capacity: new session maps of both families (the most recent sessions of each
   * copied) and a program using them.
   */
  private resize(capacity: number): void {
    const l = this.loaded!;
    const reuse: Partial<MapFds> = { ...l.fds };
    delete reuse.sessions;
    delete reuse.sessions6;
    const ld = loadLbdsr({ capacity, reuse });
    try {
      copyRecentSessions(l.fds.sessions, ld.fds.sessions, capacity);
      copyRecentSessions(l.fds.sessions6, ld.fds.sessions6, capacity, STRUCT_LAYOUTS.flowKey6.size);
      const fresh = { sessions: dupFd(ld.fds.sessions), sessions6: dupFd(ld.fds.sessions6) };
      this.replaceProgram(l, 'frontend', dupFd(ld.progFd));
      const dir = this.dir;
      for (const k of ['sessions', 'sessions6'] as const) {
        closeFd(l.fds[k]);
        l.fds[k] = fresh[k];
        if (dir) repin(dir, pinMap(k), fresh[k]);
      }
      l.capacity = capacity;
    } finally {
      ld.obj.close();
    }
  }

  /** Makes the program of `role` run on `port`, and nowhere else for that role. */
  private attach(role: PortRole, port: ResolvedPort | undefined): void {
    if (this.loaded) this.ports.attach(role, port, this.loaded.progs[role]);
  }

  /** The frontend MACs this plane keeps on the frontend interface's unicast list (or promiscuous mode). */
  unicastFilter(): UnicastState {
    return this.unicast.state();
  }

  /** The solicited-node MACs of the IPv6 VIPs this plane keeps on the frontend interface's multicast list. */
  multicastFilter(): string[] {
    return this.multicast.macs();
  }

  async stats(opts: StatsOptions = {}): Promise<StatsSnapshot> {
    return readStats(this.loaded, this.timeoutsMs, opts.walk !== false);
  }

  /** Live (not idle-expired) sessions of the kernel table, most recently used first. */
  async sessions(limit: number): Promise<SessionEntry[]> {
    return readSessions(this.loaded, this.timeoutsMs, limit);
  }

  sessionCounts = async (): Promise<Map<number, number>> => countLiveSessions(this.loaded, this.timeoutsMs);
  maglevTable = async (service: number): Promise<MaglevTable | null> => readMaglevTable(this.loaded, service);

  /** The kernel's own decision of `frame` (lbdsr_explain on this instance's maps), recording nothing. */
  async explain(frame: Uint8Array, port: number): Promise<ExplainTrace> {
    const l = this.loaded;
    if (!l)
      throw new LbdsrError('LBDSR_NOT_AVAILABLE', `the XDP plane of ${this.instance} has no program loaded`);
    if (this.explainer && !this.explainer.uses(l.fds)) {
      this.explainer.close();
      this.explainer = null;
    }
    this.explainer ??= new XdpExplainer({ ...l.fds }, l.capacity);
    const t = this.explainer.explain(frame, port);
    // the kernel's slots, named as the daemon's control state numbers them (they differ after adoption)
    const slot = (s: number) => (s < 0 || s === SLOT_NONE ? s : l.mirror.controlSlotOf(s));
    return { ...t, slot: slot(t.slot), sessionSlot: slot(t.sessionSlot) };
  }

  /**
   * `keep`: the program stays attached and pinned (a restarted daemon adopts it). Otherwise the
   * program is detached from the ports and the pins removed: the kernel frees everything.
   */
  async close(opts: { keep?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.announcer.cancel();
    this.explainer?.close();
    this.explainer = null;
    // A plane that never applied anything owns nothing (the daemon also creates planes only to
    // probe that a kind can be created): it must not touch what another daemon left.
    const l = this.loaded;
    if (!l) return;
    if (!opts.keep) {
      this.unicast.clear();
      this.multicast.clear();
      this.ports.detach('frontend', l.progs.frontend);
      this.ports.detach('backend', l.progs.backend);
    }
    this.lifecycle.release(l, opts.keep ?? false);
    this.loaded = null;
  }
}

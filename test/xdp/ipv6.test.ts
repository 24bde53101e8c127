// IPv6 in the compiled XDP program (BPF_PROG_TEST_RUN), configured as the daemon does it (docs/semantics.md,
// "IPv6"): Neighbor Solicitations for a VIP answered with the 86-byte advertisement whatever the
// solicitation's length, every other ND message dropped `ND` (passed with host_pass, silent in standby),
// flows over the 40-byte key with their own sessions, the extension-header walk and its bound,
// fragments following their first one, ICMPv6 errors (Packet Too Big) reaching the backend of the flow
// they quote, the 10-word hash, a dual-stack service, and the BACKEND port passing ND.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv6, parseMac } from '../../src/core/addr.js';
import {
  ACT_DROP,
  ACT_PASS,
  ACT_TX_BACKEND,
  ACT_TX_FRONTEND,
  CNT_BACKEND_PASS,
  CNT_FRAG_HIT,
  CNT_FRAG_MISS,
  CNT_FRONTEND_PASS,
  CNT_MAX,
  CNT_ND_REPLY,
  CNT_SESSION_HIT,
  CNT_SESSION_MISS,
  CNT_TX_FRONTEND_BYTES,
  DROP_BACKEND_PORT,
  DROP_ICMP_INNER,
  DROP_IPV6_EXT,
  DROP_L4_TRUNCATED,
  DROP_ND,
  DROP_NOT_VIP,
  DROP_PROTO,
  NA_FRAME_LEN,
  PORT_BACKEND,
  PORT_FRONTEND,
} from '../../src/core/constants.js';
import { jhash2 } from '../../src/core/jhash.js';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig, type ServiceConfig } from '../../src/core/model.js';
import { XdpExplainer } from '../../src/dataplane/xdp/explain.js';
import { TCP_ACK, TCP_SYN, tcpFrame, toHex } from '../../src/packet/build.js';
import {
  type ExtHeader,
  ICMP6_PACKET_TOO_BIG,
  icmp6EchoFrame,
  icmp6ErrorFrame,
  icmp6Frame,
  ipv6Frame,
  NA_FLAG_OVERRIDE,
  NA_FLAG_SOLICITED,
  ND_NEIGHBOR_ADVERT,
  ND_ROUTER_SOLICIT,
  NH_DSTOPTS,
  NH_ESP,
  NH_FRAGMENT,
  NH_HOPOPTS,
  NH_ROUTING,
  NH_UDP,
  naFrame,
  nsFrame,
  quote6,
  tcp6,
  tcp6Frame,
  udp6,
  udp6Frame,
} from '../../src/packet/build6.js';
import { xdpSkipReason } from './env.js';
import { sessionKey, XdpBalancer } from './harness.js';

const skip = xdpSkipReason();

const FE = 'aa:bb:cc:dd:ee:01';
const CLIENT_MAC = '52:54:00:00:00:09';
const PORT_MAC = '02:00:00:00:00:fe';
const VIP6 = 'fd00::100';
const VIP4 = '10.0.0.100';
const CLIENT = 'fd00:1::9';
const BACKENDS = 8;
const B = (n: number) => `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`;

function config(o: Partial<InstanceConfig> = {}, service: Partial<ServiceConfig> = {}): InstanceConfig {
  const pool = Array.from({ length: BACKENDS }, (_, i) => ({ id: i + 1, mac: B(i + 1) }));
  return {
    name: 'v6',
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [],
    frontend: { mac: FE },
    backend: { pool: [] },
    services: [{ name: 'web6', vip: VIP6, backend: { pool }, ...service }],
    sessions: { ...DEFAULT_SESSION_SETTINGS, capacity: 4096 },
    ...o,
  };
}

function withRig(c: InstanceConfig, fn: (x: XdpBalancer) => void): void {
  const x = new XdpBalancer({ ...DEFAULT_SESSION_SETTINGS, capacity: 4096 });
  try {
    x.configure(c, PORT_MAC);
    fn(x);
  } finally {
    x.close();
  }
}

interface Out {
  verdict: number;
  out: Uint8Array;
  moved: Map<number, number>;
  backend: number;
}

/** One frame through the FRONTEND (or BACKEND) program: verdict, bytes out, counters moved. */
function run(x: XdpBalancer, frame: Uint8Array, port = PORT_FRONTEND): Out {
  const buf = new Uint8Array(2048);
  buf.set(frame);
  const before = x.maps.readCounters();
  const verdict = x.process(buf, frame.length, port, 1000);
  const after = x.maps.readCounters();
  const moved = new Map<number, number>();
  for (let i = 0; i < CNT_MAX; i++) if (after[i] !== before[i]) moved.set(i, after[i]! - before[i]!);
  return { verdict, out: buf.slice(0, x.outLen), moved, backend: x.lastBackendId };
}

const drop = (reason: number) => ACT_DROP | (reason << 8);
const addr = { ethDst: FE, ethSrc: CLIENT_MAC, src: CLIENT, dst: VIP6 };
const syn = (sport: number, dport = 80) => tcp6Frame(addr, { sport, dport, flags: TCP_SYN });

/** The advertisement the spec writes for a solicitation from `src` (`srcMac`) for the VIP. */
const expectedNa = (src = CLIENT, srcMac = CLIENT_MAC) =>
  naFrame({
    srcMac: FE,
    dstMac: srcMac,
    src: VIP6,
    dst: src,
    target: VIP6,
    flags: NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE,
    tllaoMac: FE,
  });

test('a Neighbor Solicitation for an IPv6 VIP is answered with the 86-byte advertisement, whatever its length', {
  skip,
}, () => {
  withRig(config(), (x) => {
    const cases: [string, Uint8Array][] = [
      [
        'to the solicited-node address, with its source link-layer option (86 bytes)',
        nsFrame({ srcMac: CLIENT_MAC, src: CLIENT, target: VIP6 }),
      ],
      [
        'without the option (78 bytes: the frame grows)',
        nsFrame({ srcMac: CLIENT_MAC, src: CLIENT, target: VIP6, sllao: false }),
      ],
      [
        'unicast to the VIP at its MAC, with 96 more option bytes (128 ICMPv6 bytes, the most answered: the frame is cut)',
        nsFrame({
          srcMac: CLIENT_MAC,
          dstMac: FE,
          src: CLIENT,
          dst: VIP6,
          target: VIP6,
          moreOptions: Uint8Array.from({ length: 96 }, (_, i) => (i === 0 ? 14 : i === 1 ? 12 : 0)),
        }),
      ],
    ];
    for (const [what, ns] of cases) {
      const r = run(x, ns);
      assert.equal(r.verdict, ACT_TX_FRONTEND, what);
      assert.equal(r.out.length, NA_FRAME_LEN, `${what}: length`);
      assert.equal(toHex(r.out), toHex(expectedNa()), `${what}: the advertisement's bytes`);
      assert.equal(r.moved.get(CNT_ND_REPLY), 1, `${what}: counted ND_REPLY`);
      assert.equal(r.moved.get(CNT_TX_FRONTEND_BYTES), NA_FRAME_LEN, `${what}: 86 bytes sent`);
    }
  });
});

test('other ND messages drop ND; host_pass passes them; standby answers none', { skip }, () => {
  const ns = (o: Partial<Parameters<typeof nsFrame>[0]> = {}) =>
    nsFrame({ srcMac: CLIENT_MAC, src: CLIENT, target: VIP6, ...o });
  const badSum = ns();
  badSum[57] = badSum[57]! ^ 0x01;
  const notNs: [string, Uint8Array][] = [
    ['hop limit 254', ns({ hopLimit: 254 })],
    ['bad checksum', badSum],
    ['code 1', ns({ code: 1 })],
    ['duplicate address detection (source ::)', ns({ src: '::' })],
    ['target not a VIP', ns({ target: 'fd00::101' })],
    ['to another node', ns({ dst: 'fd00::5' })],
    ['to another Ethernet address', ns({ dstMac: '33:33:ff:00:00:99' })],
    [
      'an advertisement',
      icmp6Frame(
        addr,
        { type: ND_NEIGHBOR_ADVERT, code: 0, word: 0x60000000, body: parseIpv6(VIP6) },
        { hopLimit: 255 },
      ),
    ],
    [
      'a router solicitation',
      icmp6Frame({ ...addr, dst: 'ff02::2' }, { type: ND_ROUTER_SOLICIT, code: 0 }, { hopLimit: 255 }),
    ],
  ];
  withRig(config(), (x) => {
    for (const [what, f] of notNs) {
      const r = run(x, f);
      assert.equal(r.verdict, drop(DROP_ND), what);
      assert.equal(r.moved.get(DROP_ND), 1, `${what}: counted`);
    }
  });
  withRig(config({ host_pass: true }), (x) => {
    for (const [what, f] of notNs) {
      const r = run(x, f);
      assert.equal(r.verdict, ACT_PASS | (DROP_ND << 8), `${what}: passed to the host`);
      assert.equal(r.moved.get(CNT_FRONTEND_PASS), 1, what);
      assert.equal(r.moved.get(DROP_ND), undefined, `${what}: not a drop`);
    }
    assert.equal(
      run(
        x,
        syn(1000, 80).map((b, i) => (i === 53 ? b ^ 1 : b)),
      ).verdict,
      ACT_PASS | (DROP_NOT_VIP << 8),
    );
  });
  withRig(config({ standby: true }), (x) => {
    assert.equal(run(x, ns()).verdict, drop(DROP_ND), 'standby: the solicitation is not answered');
    assert.equal(run(x, syn(1000)).verdict, ACT_TX_BACKEND, 'standby: frames still balanced');
  });
});

test('IPv6 flows: balanced by their own sessions; the extension-header walk and its bound', { skip }, () => {
  withRig(config(), (x) => {
    const first = run(x, syn(1000));
    assert.equal(first.verdict, ACT_TX_BACKEND);
    assert.equal(first.moved.get(CNT_SESSION_MISS), 1);
    const mac = toHex(parseMac(B(first.backend)));
    assert.equal(toHex(first.out.subarray(0, 6)), mac, 'eth dst = the backend');
    assert.equal(toHex(first.out.subarray(6, 12)), toHex(parseMac(PORT_MAC)), 'eth src = the backend port');
    assert.equal(toHex(first.out.subarray(12)), toHex(syn(1000).subarray(12)), 'nothing else changes');
    const key = sessionKey(parseIpv6(CLIENT), parseIpv6(VIP6), 1000, 80, 6);
    assert.deepEqual(
      x.sessionList().map((s) => [s.key, s.backend]),
      [[key, first.backend]],
      'the session is in the IPv6 table, keyed by the 128-bit addresses',
    );
    const ack = run(x, tcp6Frame(addr, { sport: 1000, dport: 80, flags: TCP_ACK }));
    assert.equal(ack.moved.get(CNT_SESSION_HIT), 1, 'the next segment hits its session');
    assert.equal(ack.backend, first.backend);

    const dst: ExtHeader = { kind: NH_DSTOPTS, len: 16 };
    const eight: ExtHeader[] = [
      { kind: NH_HOPOPTS },
      { kind: NH_ROUTING, len: 24 },
      { kind: NH_FRAGMENT, offset: 0, m: false },
      ...Array.from({ length: 5 }, () => dst),
    ];
    const behind = (exts: ExtHeader[]) =>
      tcp6Frame(addr, { sport: 1000, dport: 80, flags: TCP_ACK }, { exts });
    const walked = run(x, behind(eight));
    assert.equal(
      walked.verdict,
      ACT_TX_BACKEND,
      '8 extension headers (an atomic fragment among them) are walked',
    );
    assert.equal(walked.moved.get(CNT_SESSION_HIT), 1, 'to the same flow');
    assert.equal(run(x, behind([...eight, dst])).verdict, drop(DROP_IPV6_EXT), 'a ninth');
    assert.equal(
      run(x, behind([{ kind: NH_FRAGMENT }, { kind: NH_FRAGMENT }])).verdict,
      drop(DROP_IPV6_EXT),
      'two fragment headers',
    );
    const claimed = tcp6Frame(
      addr,
      { sport: 1, dport: 80, flags: TCP_SYN },
      { exts: [{ kind: NH_DSTOPTS, hdrExtLen: 9 }] },
    );
    assert.equal(run(x, claimed).verdict, drop(DROP_IPV6_EXT), 'a header longer than the packet');
    assert.equal(
      run(x, ipv6Frame(addr, NH_ESP, new Uint8Array(24), { exts: [{ kind: NH_HOPOPTS }] })).verdict,
      drop(DROP_PROTO),
      'ESP',
    );
    const short = tcp6Frame(
      addr,
      { sport: 1, dport: 80, flags: TCP_SYN },
      { truncateTo: 40 + 19, payloadLength: 19 },
    );
    assert.equal(run(x, short).verdict, drop(DROP_L4_TRUNCATED), 'a TCP header cut short');
    const echo = run(x, icmp6EchoFrame(addr));
    assert.equal(echo.verdict, ACT_TX_BACKEND, 'ICMPv6 echo request');
  });
});

test('IPv6 fragments follow their first one; an ICMPv6 Packet Too Big reaches the backend of the flow it quotes', {
  skip,
}, () => {
  withRig(config(), (x) => {
    const data = udp6(addr, { sport: 5353, dport: 53, payload: new Uint8Array(64) });
    const firstFrag = ipv6Frame(addr, NH_UDP, data.subarray(0, 48), {
      exts: [{ kind: NH_FRAGMENT, offset: 0, m: true, id: 7 }],
    });
    const laterFrag = ipv6Frame(addr, NH_UDP, data.subarray(48), {
      exts: [{ kind: NH_FRAGMENT, offset: 6, m: false, id: 7 }],
    });
    const otherId = ipv6Frame(addr, NH_UDP, data.subarray(48), {
      exts: [{ kind: NH_FRAGMENT, offset: 6, m: false, id: 8 }],
    });
    const a = run(x, firstFrag);
    assert.equal(a.verdict, ACT_TX_BACKEND);
    assert.equal(a.moved.get(CNT_SESSION_MISS), 1, 'the first fragment records the flow {ports}');
    const b = run(x, laterFrag);
    assert.equal(b.moved.get(CNT_FRAG_HIT), 1, 'the later fragment found its first one');
    assert.equal(b.moved.get(CNT_SESSION_HIT), 1, 'and so the flow of the first fragment');
    assert.equal(b.backend, a.backend);
    const c = run(x, otherId);
    assert.equal(c.moved.get(CNT_FRAG_MISS), 1, 'another datagram: a fragment miss');
    assert.equal(c.moved.get(CNT_SESSION_MISS), 1, 'keyed without ports');
    const unfragmented = run(x, udp6Frame(addr, { sport: 5353, dport: 53 }));
    assert.equal(unfragmented.moved.get(CNT_SESSION_HIT), 1, 'the flow unfragmented: the same session');

    // Flows of many clients, each answered by its server; a router's Packet Too Big for the reply
    // (VIP -> client) must reach the server that holds that flow, and reads only.
    for (let port = 2000; port < 2032; port++) {
      const s = run(x, syn(port, 443));
      const reply = tcp6({ src: VIP6, dst: CLIENT }, { sport: 443, dport: port, flags: TCP_SYN | TCP_ACK });
      const inner = ipv6Frame({ ethDst: FE, ethSrc: FE, src: VIP6, dst: CLIENT }, 6, reply).subarray(14);
      const ptb = icmp6ErrorFrame(
        { ethDst: FE, ethSrc: CLIENT_MAC, src: 'fd00:2::1', dst: VIP6 },
        { type: ICMP6_PACKET_TOO_BIG, mtu: 1280, inner: quote6(inner) },
      );
      const e = run(x, ptb);
      assert.equal(e.verdict, ACT_TX_BACKEND, `PTB for port ${port}`);
      assert.equal(e.backend, s.backend, `PTB for port ${port}: the flow's backend`);
      assert.equal(e.moved.get(CNT_SESSION_HIT), undefined, 'read-only');
      assert.equal(e.moved.get(CNT_SESSION_MISS), undefined, 'read-only');
    }
    const foreign = icmp6ErrorFrame(
      { ethDst: FE, ethSrc: CLIENT_MAC, src: 'fd00:2::1', dst: VIP6 },
      { type: ICMP6_PACKET_TOO_BIG, inner: quote6(syn(1).subarray(14)) },
    );
    assert.equal(run(x, foreign).verdict, drop(DROP_ICMP_INNER), 'quoting a packet not from the VIP');
  });
});

test('explain of IPv6 frames: the Maglev hash of an IPv6 key is jhash2 over 10 words (HASH_SESSION) or 4 (HASH_SRC_IP); a solicitation shows its advertisement', {
  skip,
}, () => {
  const words = (bytes: Uint8Array, n: number) => {
    const w = new Uint32Array(n);
    for (let i = 0; i < n; i++)
      w[i] =
        ((bytes[4 * i]! << 24) | (bytes[4 * i + 1]! << 16) | (bytes[4 * i + 2]! << 8) | bytes[4 * i + 3]!) >>>
        0;
    return w;
  };
  const src = words(parseIpv6(CLIENT), 4);
  const dst = words(parseIpv6(VIP6), 4);
  const session = new Uint32Array([...src, ...dst, ((1000 << 16) | 80) >>> 0, 6]);
  for (const [algorithm, expect] of [
    ['HASH_SESSION', jhash2(session, 0, 10, 0)],
    ['HASH_SRC_IP', jhash2(src, 0, 4, 0)],
  ] as const) {
    withRig(config({ algorithm }), (x) => {
      const ex = new XdpExplainer({ ...x.loaded.fds }, 4096);
      try {
        const t = ex.explain(syn(1000), PORT_FRONTEND);
        assert.equal(t.hash, expect >>> 0, algorithm);
        assert.equal(t.verdict, ACT_TX_BACKEND, `${algorithm}: explain of an IPv6 frame`);
        const nd = ex.explain(
          nsFrame({ srcMac: CLIENT_MAC, src: CLIENT, target: VIP6, sllao: false }),
          PORT_FRONTEND,
        );
        assert.equal(nd.verdict, ACT_TX_FRONTEND, 'explain of a solicitation: answered');
        assert.equal(toHex(nd.output), toHex(expectedNa()), 'explain shows the advertisement');
      } finally {
        ex.close();
      }
    });
  }
});

test('a dual-stack service: one pool and one Maglev table behind both VIPs; the BACKEND port passes ND', {
  skip,
}, () => {
  withRig(config({ probe_ip: '192.168.0.250' }, { vip: VIP4, vip6: VIP6 }), (x) => {
    const v4 = run(
      x,
      tcpFrame(
        { ethDst: FE, ethSrc: CLIENT_MAC, src: '10.1.0.9', dst: VIP4 },
        { sport: 1, dport: 80, flags: TCP_SYN },
      ),
    );
    const v6 = run(x, syn(1));
    assert.equal(v4.verdict, ACT_TX_BACKEND, 'the IPv4 VIP');
    assert.equal(v6.verdict, ACT_TX_BACKEND, 'the IPv6 VIP');
    assert.equal(run(x, nsFrame({ srcMac: CLIENT_MAC, src: CLIENT, target: VIP6 })).verdict, ACT_TX_FRONTEND);

    // BACKEND port: a server's advertisement to the prober and its solicitation pass (rule 1); a flow does not.
    const na = naFrame({
      srcMac: B(1),
      dstMac: '02:db:c0:a8:00:fa',
      src: 'fe80::1',
      dst: 'fe80::db:c0ff:fea8:fa',
      target: 'fd00::21',
      flags: NA_FLAG_SOLICITED,
      tllaoMac: B(1),
    });
    const ns = nsFrame({ srcMac: B(1), src: 'fe80::1', target: 'fd00::99' });
    for (const [what, f] of [
      ['advertisement', na],
      ['solicitation', ns],
    ] as const) {
      const r = run(x, f, PORT_BACKEND);
      assert.equal(r.verdict, ACT_PASS, `BACKEND port ${what}`);
      assert.equal(r.moved.get(CNT_BACKEND_PASS), 1, what);
    }
    const flow = tcp6Frame({ ...addr, ethDst: '02:00:00:00:00:aa' }, { sport: 1, dport: 80, flags: TCP_SYN });
    assert.equal(run(x, flow, PORT_BACKEND).verdict, drop(DROP_BACKEND_PORT), 'BACKEND port flow');
  });
});

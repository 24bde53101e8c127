// lbdsr's live status page (index.html): polls the REST API once a second (the list of instances, each
// one's stats and the pool of each of its services, which `backend pool show` gives with each backend's
// status: health, state, weight, live sessions), computes rates from successive counter readings, keeps
// a minute of history per instance for the graph, and redraws. A backend that is DOWN, or takes no new
// flows, shows so. Read-only: it only sends GETs. With a daemon that requires a token
// (body[data-auth="bearer"]), the token is asked for once and kept in sessionStorage (this tab).

const API = '/polycube/v1/lbdsr';
const POLL_MS = 1000;
const HISTORY = 60;
const TOKEN_KEY = 'lbdsr-token';

/** @type {Map<string, {prev?: {t: number, rx: number, rxBytes: number, tx: number, drops: Record<string, number>, backends: Map<string, {packets: number, bytes: number}>}, history: Array<{rx: number, tx: number}>}>} */
const perInstance = new Map();

class AuthError extends Error {}

const $ = (id) => document.getElementById(id);

/** An element with attributes (`class`, `data-*`, ...) and children (nodes or text). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) e.setAttribute(k, String(v));
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

function svg(tag, attrs = {}) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

async function get(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const r = await fetch(`${API}${path}`, { headers, cache: 'no-store' });
  if (r.status === 401) throw new AuthError('the token was refused');
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    throw new Error(body.message ?? `HTTP ${r.status}`);
  }
  return r.json();
}

const fmt = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });

/** 1234567 → "1.2 M" (for rates and counters). */
function si(v, unit = '') {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  const steps = ['', 'k', 'M', 'G', 'T'];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1000 && i < steps.length - 1) {
    x /= 1000;
    i++;
  }
  return `${fmt.format(x)}${steps[i] || unit ? ' ' : ''}${steps[i]}${unit}`;
}

/** Per-second rate between two readings; undefined at the first reading or after a counter reset. */
function rate(cur, prev, dt) {
  if (prev === undefined || dt <= 0 || cur < prev) return undefined;
  return (cur - prev) / dt;
}

function table(head, rows, attrs = {}) {
  return el(
    'table',
    attrs,
    el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows),
  );
}

const num = (v, field) => el('td', { class: 'n', 'data-field': field }, v);

/** A backend across services: `default/2`. */
const backendKey = (service, id) => `${service ?? 'default'}/${id}`;

/** Folds a stats reading into the instance's history; returns the rates since the previous one. */
function advance(name, stats, t) {
  let s = perInstance.get(name);
  if (!s) {
    s = { history: [] };
    perInstance.set(name, s);
  }
  const prev = s.prev;
  const dt = prev ? (t - prev.t) / 1000 : 0;
  const r = {
    rx: rate(stats.rx.packets, prev?.rx, dt),
    rxBytes: rate(stats.rx.bytes, prev?.rxBytes, dt),
    tx: rate(stats.tx.backend, prev?.tx, dt),
    drops: {},
    backends: new Map(),
  };
  for (const [reason, n] of Object.entries(stats.drops)) r.drops[reason] = rate(n, prev?.drops[reason], dt);
  const backends = new Map();
  for (const b of stats.backends) {
    const key = backendKey(b.service, b.id);
    backends.set(key, { packets: b.packets, bytes: b.bytes });
    r.backends.set(key, rate(b.packets, prev?.backends.get(key)?.packets, dt));
  }
  if (r.rx !== undefined) {
    s.history.push({ rx: r.rx, tx: r.tx ?? 0 });
    if (s.history.length > HISTORY) s.history.shift();
  }
  s.prev = {
    t,
    rx: stats.rx.packets,
    rxBytes: stats.rx.bytes,
    tx: stats.tx.backend,
    drops: { ...stats.drops },
    backends,
  };
  return r;
}

/** The last minute of frames/s received and sent to backends, as two polylines. */
function graph(history) {
  const w = 480;
  const h = 120;
  const top = Math.max(1, ...history.map((p) => Math.max(p.rx, p.tx)));
  const g = svg('svg', {
    class: 'graph',
    viewBox: `0 0 ${w} ${h}`,
    'data-field': 'graph',
    'data-points': history.length,
  });
  const line = (key) =>
    history
      .map(
        (p, i) =>
          `${((i + HISTORY - history.length) * w) / (HISTORY - 1)},${h - 4 - (p[key] / top) * (h - 8)}`,
      )
      .join(' ');
  g.append(
    svg('polyline', { class: 'rx', points: line('rx') }),
    svg('polyline', { class: 'tx', points: line('tx') }),
  );
  const label = svg('text', { x: 4, y: 14, 'font-size': 11, fill: 'currentColor' });
  label.textContent = `max ${si(top)} frames/s`;
  g.append(label);
  return g;
}

/** Whether a data plane runs for the instance (`plane` is NONE without one). */
const hasPlane = (inst) => Boolean(inst.plane) && inst.plane !== 'NONE';

/** The services of an instance: `default` (frontend + backend) first, then the others. */
function servicesOf(inst) {
  const fe = inst.frontend ?? {};
  const def = { name: 'default', vip: fe.vip, vip6: fe.vip6, mac: fe.mac, backend: inst.backend };
  return [def, ...(inst.services ?? [])];
}

function servicesTable(inst, stats, pools) {
  const rows = servicesOf(inst).map((svc) => {
    const mac = svc.mac ?? inst.frontend?.mac;
    const pool = pools.get(svc.name) ?? [];
    const serving = pool.filter((b) => b.serving !== false).length;
    const ready = Boolean(svc.vip && mac && serving && hasPlane(inst));
    const where = [svc.protocol, svc.port].filter((x) => x !== undefined).join(' ');
    return el(
      'tr',
      { 'data-service': svc.name },
      el('td', {}, svc.name),
      el('td', { 'data-field': 'vip' }, [svc.vip, svc.vip6].filter(Boolean).join(' ') || '(none)'),
      el('td', {}, where || 'any'),
      el('td', {}, mac ?? '(none)'),
      el('td', {}, svc.algorithm ?? inst.algorithm),
      num(`${serving} / ${pool.length}`, 'backends'),
      el(
        'td',
        { 'data-field': 'state' },
        el('span', { class: ready ? 'up' : 'down' }, ready ? 'SERVING' : 'NOT READY'),
      ),
    );
  });
  const head = ['service', 'VIP', 'protocol/port', 'frontend MAC', 'algorithm', 'serving backends', 'state'];
  const t = table(head, rows);
  return el('div', {}, t, el('p', { class: 'note' }, `live sessions: ${si(stats.sessions.active)}`));
}

/** A backend's health as a badge: UP green, DOWN red, UNKNOWN grey; the reason of the last change as its title. */
function healthBadge(b) {
  const h = b.health ?? 'UP';
  const cls = h === 'UP' ? 'up' : h === 'DOWN' ? 'down' : 'unknown';
  const why = [b.health_reason, b.health_since && `since ${b.health_since}`].filter(Boolean).join(', ');
  const flux = b.arp_flux
    ? el('span', { class: 'down', title: 'answers ARP for the VIP (arp_ignore/arp_announce)' }, 'ARP FLUX')
    : '';
  return el(
    'td',
    { 'data-field': 'health' },
    el('span', { class: cls, title: why || h }, h),
    flux ? ' ' : '',
    flux,
  );
}

function backendsTable(inst, stats, rates, pools) {
  const byKey = new Map(stats.backends.map((b) => [backendKey(b.service, b.id), b]));
  const rows = [];
  for (const svc of servicesOf(inst)) {
    for (const b of pools.get(svc.name) ?? []) {
      const key = backendKey(svc.name, b.id);
      const s = byKey.get(key);
      const mac = b.mac_in_use ?? b.mac ?? (b.ip ? `(resolving ${b.ip})` : '(none)');
      rows.push(
        el(
          'tr',
          {
            'data-backend': b.id,
            'data-service': svc.name,
            class: b.health === 'DOWN' ? 'is-down' : b.serving === false ? 'not-serving' : undefined,
          },
          el('td', {}, svc.name),
          el('td', {}, b.id),
          el('td', { title: b.mac_source ?? '' }, mac),
          healthBadge(b),
          el('td', { 'data-field': 'state' }, b.state ?? 'ACTIVE'),
          num(b.weight ?? 100, 'weight'),
          num(si(b.sessions ?? 0), 'live-sessions'),
          num(si(s?.packets ?? 0), 'frames'),
          num(si(s?.bytes ?? 0, 'B'), 'bytes'),
          num(si(rates.backends.get(key)), 'frames-rate'),
          num(si(s?.sessions ?? 0), 'sessions'),
        ),
      );
    }
  }
  const head = [
    'service',
    'id',
    'MAC',
    'health',
    'state',
    'weight',
    'live sessions',
    'frames',
    'bytes',
    'frames/s',
    'sessions created',
  ];
  return table(head, rows, { class: 'backends' });
}

function dropsTable(stats, rates) {
  const reasons = Object.entries(stats.drops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const rows = reasons.map(([reason, n]) =>
    el(
      'tr',
      { 'data-drop': reason, class: n ? undefined : 'zero' },
      el('td', {}, reason),
      num(si(n), 'count'),
      num(si(rates.drops[reason]), 'rate'),
    ),
  );
  return table(['drop reason', 'frames', 'frames/s'], rows, { class: 'drops' });
}

function trafficTable(stats, rates) {
  const s = stats.sessions;
  return table(
    ['', 'total', 'per second'],
    [
      el(
        'tr',
        {},
        el('td', {}, 'frames received'),
        num(si(stats.rx.packets), 'rx-packets'),
        num(si(rates.rx), 'rx-rate'),
      ),
      el(
        'tr',
        {},
        el('td', {}, 'bytes received'),
        num(si(stats.rx.bytes, 'B'), 'rx-bytes'),
        num(si(rates.rxBytes, 'B'), 'rx-bytes-rate'),
      ),
      el(
        'tr',
        {},
        el('td', {}, 'frames to backends'),
        num(si(stats.tx.backend), 'tx-backend'),
        num(si(rates.tx), 'tx-rate'),
      ),
      el('tr', {}, el('td', {}, 'ARP replies'), num(si(stats.arpReplies), 'arp'), el('td')),
      el('tr', {}, el('td', {}, 'ND replies (IPv6)'), num(si(stats.ndReplies ?? 0), 'nd'), el('td')),
      el(
        'tr',
        {},
        el('td', {}, 'sessions: hit / miss'),
        el('td', { class: 'n' }, `${si(s.hit)} / ${si(s.miss)}`),
        el('td'),
      ),
      el(
        'tr',
        {},
        el('td', {}, 'expired / stale / evicted'),
        el('td', { class: 'n' }, `${si(s.expired)} / ${si(s.stale)} / ${si(s.evicted)}`),
        el('td'),
      ),
    ],
  );
}

function instanceSection(inst, stats, rates, pools) {
  const s = perInstance.get(inst.name);
  const ports = inst.ports.map(
    (p) => `${p.name} (${p.type}${p.peer ? ` on ${p.peer}, ${p.status ?? '?'}` : ''})`,
  );
  return el(
    'section',
    { 'data-instance': inst.name },
    el(
      'h2',
      {},
      `${inst.name} `,
      el(
        'span',
        { class: 'note', 'data-field': 'plane' },
        hasPlane(inst) ? `plane ${inst.plane}` : 'no data plane',
      ),
    ),
    el('p', { class: 'note' }, ports.length ? `ports: ${ports.join(', ')}` : 'no ports'),
    el('h3', {}, 'Services'),
    servicesTable(inst, stats, pools),
    el('h3', {}, 'Backends'),
    backendsTable(inst, stats, rates, pools),
    el(
      'div',
      { class: 'grid' },
      el('div', {}, el('h3', {}, 'Traffic'), trafficTable(stats, rates)),
      el(
        'div',
        {},
        el(
          'h3',
          { class: 'legend' },
          'Frames/s, last minute: ',
          el('span', { class: 'rx' }, 'received'),
          ' · ',
          el('span', { class: 'tx' }, 'to backends'),
        ),
        graph(s?.history ?? []),
      ),
      el('div', {}, el('h3', {}, 'Drops'), dropsTable(stats, rates)),
    ),
  );
}

function setConnection(state, text) {
  const c = $('connection');
  c.className = `state ${state}`;
  c.textContent = text;
}

/** Each service's pool with its backends' status (`backend pool show`), by service name. */
async function poolsOf(inst) {
  const base = `/${encodeURIComponent(inst.name)}`;
  const entries = await Promise.all(
    servicesOf(inst).map(async (svc) => {
      const path = svc.name === 'default' ? '' : `/services/${encodeURIComponent(svc.name)}`;
      return [svc.name, await get(`${base}${path}/backend/pool/`)];
    }),
  );
  return new Map(entries);
}

async function poll() {
  const list = await get('/');
  const t = performance.now();
  const stats = await Promise.all(list.map((i) => get(`/${encodeURIComponent(i.name)}/stats/`)));
  const pools = await Promise.all(list.map((i) => poolsOf(i)));
  for (const name of perInstance.keys()) if (!list.some((i) => i.name === name)) perInstance.delete(name);
  const sections = list.map((inst, k) =>
    instanceSection(inst, stats[k], advance(inst.name, stats[k], t), pools[k]),
  );
  $('instances').replaceChildren(...sections);
  $('empty').hidden = list.length > 0;
  $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  setConnection('live', 'live');
}

function askToken(message) {
  $('login').hidden = false;
  $('login-error').textContent = message;
  setConnection('error', 'token needed');
  $('token').focus();
}

let timer;
async function loop() {
  clearTimeout(timer);
  try {
    await poll();
  } catch (e) {
    if (e instanceof AuthError) {
      sessionStorage.removeItem(TOKEN_KEY);
      askToken(e.message);
      return;
    }
    setConnection('error', `cannot reach lbdsrd: ${e.message}`);
  }
  timer = setTimeout(loop, POLL_MS);
}

$('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
  $('token').value = '';
  $('login').hidden = true;
  void loop();
});

if (document.body.dataset.auth === 'bearer' && !sessionStorage.getItem(TOKEN_KEY)) askToken('');
else void loop();

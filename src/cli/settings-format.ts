// The one settings file that lbdsrd and lbdsrctl share (/etc/lbdsr/lbdsr.conf by default;
// docs/operations.md): its format (`key = value` lines, `#` comments), its keys and which program reads
// each, where it is found (--config, LBDSR_CONFIG, the default path), and the client URL a `listen`
// address gives. Pure, and here rather than in src/core because lbdsrctl loads nothing outside src/cli
// (test/daemon/cli-process.test.ts); the daemon (src/daemon/settings-file.ts, wrapping SettingsError in
// LbdsrError) and the CLI (src/cli/settings.ts) read the file themselves.

/** A mistake in a settings file; `code` is the LbdsrError code the daemon gives it. */
export class SettingsError extends Error {
  constructor(
    readonly code: 'LBDSR_BAD_VALUE' | 'LBDSR_UNKNOWN_KEY',
    message: string,
  ) {
    super(message);
  }
}

export const DEFAULT_CONFIG = '/etc/lbdsr/lbdsr.conf';

/**
 * Every key, by who reads it. The daemon's keys are its long flags (`listen = X` is `--listen X`; a flag
 * on the command line wins over the file). The CLI derives the daemon's URL from `listen` (https when
 * `tls-cert` is set) unless `url` names it, and sends the token of `token-file`.
 */
export const SETTINGS_KEYS = {
  listen: 'both',
  'token-file': 'both',
  'tls-cert': 'both',
  'tls-key': 'daemon',
  'state-dir': 'daemon',
  'log-level': 'daemon',
  'announce-file': 'daemon',
  'announce-command': 'daemon',
  url: 'cli',
} as const;

export type SettingsKey = keyof typeof SETTINGS_KEYS;
export type Settings = Partial<Record<SettingsKey, string>>;

const bad = (where: string, what: string) => new SettingsError('LBDSR_BAD_VALUE', `${where}: ${what}`);

/** Parses the text of a settings file; `path` names it in messages (with the line). */
export function parseSettings(text: string, path: string): Settings {
  const out: Settings = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${path}:${i + 1}`;
    const eq = line.indexOf('=');
    if (eq < 0) throw bad(where, `'${line}' is not 'key = value'`);
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!Object.hasOwn(SETTINGS_KEYS, key)) {
      throw new SettingsError(
        'LBDSR_UNKNOWN_KEY',
        `${where}: unknown key '${key}' (keys: ${Object.keys(SETTINGS_KEYS).join(', ')})`,
      );
    }
    const k = key as SettingsKey;
    if (out[k] !== undefined) throw bad(where, `'${key}' is set twice`);
    if (value === '') throw bad(where, `'${key}' has no value`);
    out[k] = value;
  }
  return out;
}

/** The keys `reader` uses, in file order. */
export function settingsFor(s: Settings, reader: 'daemon' | 'cli'): Array<[SettingsKey, string]> {
  const wanted = (k: SettingsKey) => SETTINGS_KEYS[k] === 'both' || SETTINGS_KEYS[k] === reader;
  return (Object.entries(s) as Array<[SettingsKey, string]>).filter(([k]) => wanted(k));
}

/**
 * Which settings file to read: the --config flag, else LBDSR_CONFIG (empty: none), else the default
 * path. `explicit`: the user named it, so a missing file is an error (a missing default is no file).
 */
export function configLocation(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
): { path: string; explicit: boolean } | undefined {
  if (flag !== undefined) return { path: flag, explicit: true };
  const fromEnv = env.LBDSR_CONFIG;
  if (fromEnv !== undefined) return fromEnv === '' ? undefined : { path: fromEnv, explicit: true };
  return { path: DEFAULT_CONFIG, explicit: false };
}

/** `HOST:PORT` (an IPv6 host in brackets) as the daemon's --listen takes it, or undefined. */
export function parseListen(v: string): { host: string; port: number } | undefined {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) return undefined;
  return { host: m[1] ?? '', port: Number(m[2]) };
}

/**
 * The URL a client on the same host uses for a daemon listening on `listen`: a wildcard address
 * (0.0.0.0, ::, empty) is reached through the loopback.
 */
export function clientUrl(listen: string, tls: boolean, where: string): string {
  const l = parseListen(listen);
  if (!l) throw bad(where, `listen '${listen}' is not HOST:PORT`);
  let host = l.host;
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  else if (host === '::') host = '::1';
  if (host.includes(':')) host = `[${host}]`;
  return `${tls ? 'https' : 'http'}://${host}:${l.port}`;
}

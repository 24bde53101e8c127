// lbdsrctl's side of the settings file the daemon reads (settings-format.ts): the daemon's URL (the
// file's `url`, else its `listen` reached from this host) and its token file. options.ts ranks them
// below flags and the environment. No mode check here: the CLI only reads where to connect.
import { readFileSync } from 'node:fs';
import { UsageError } from './grammar.js';
import { clientUrl, configLocation, parseSettings, settingsFor } from './settings-format.js';

export interface CliSettings {
  url?: string;
  tokenFile?: string;
}

/** What the settings file tells lbdsrctl; nothing when there is none (a missing default is none). */
export function readCliSettings(flag: string | undefined, env: NodeJS.ProcessEnv): CliSettings {
  const at = configLocation(flag, env);
  if (!at) return {};
  let text: string;
  try {
    text = readFileSync(at.path, 'utf8');
  } catch (e) {
    if (!at.explicit && (e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`cannot read the settings file: ${(e as Error).message}`, { cause: e });
  }
  const s = Object.fromEntries(settingsFor(parseSettings(text, at.path), 'cli'));
  const out: CliSettings = {};
  if (s.url !== undefined) out.url = s.url;
  else if (s.listen !== undefined) out.url = clientUrl(s.listen, s['tls-cert'] !== undefined, at.path);
  if (s['token-file'] !== undefined) out.tokenFile = s['token-file'];
  return out;
}

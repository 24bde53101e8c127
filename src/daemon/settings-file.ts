// lbdsrd's side of the settings file (src/cli/settings-format.ts): `--config FILE` (or LBDSR_CONFIG, or
// /etc/lbdsr/lbdsr.conf when it exists) is read and its daemon keys become flags placed before the
// command line's, so that a flag given on the command line wins over the file. The file is refused when
// group or others may write it: whoever can edit it can point the daemon at another token or state.
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import {
  configLocation,
  parseSettings,
  type Settings,
  SettingsError,
  settingsFor,
} from '../cli/settings-format.js';
import { LbdsrError } from '../core/errors.js';

/** Takes `--config FILE` / `--config=FILE` out of `argv` (the last one counts); stops at `--`. */
function takeConfigFlag(argv: string[]): { flag: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let flag: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--config') {
      flag = argv[++i];
      if (flag === undefined || flag.startsWith('-'))
        throw new LbdsrError('LBDSR_BAD_VALUE', '--config needs a value');
    } else if (a.startsWith('--config=')) flag = a.slice('--config='.length);
    else rest.push(a);
  }
  return { flag, rest };
}

/** The text of the settings file, or undefined when the default one is absent. */
function readSettingsText(path: string, explicit: boolean): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if (!explicit && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LbdsrError('LBDSR_BAD_VALUE', `cannot read the settings file: ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new LbdsrError('LBDSR_BAD_VALUE', `settings file ${path} is not a file`);
    if (st.mode & 0o022) {
      const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      throw new LbdsrError(
        'LBDSR_BAD_VALUE',
        `settings file ${path} has mode ${mode}, writable by group or others; chmod go-w it`,
      );
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function parsed(text: string, path: string): Settings {
  try {
    return parseSettings(text, path);
  } catch (e) {
    if (e instanceof SettingsError) throw new LbdsrError(e.code, e.message, { cause: e });
    throw e;
  }
}

/**
 * lbdsrd's arguments with the settings file applied: its daemon keys as flags, then `argv` without
 * `--config`. The flags are checked by parseDaemonArgs like typed ones.
 */
export function withSettingsFile(argv: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const { flag, rest } = takeConfigFlag(argv);
  const at = configLocation(flag, env);
  const text = at && readSettingsText(at.path, at.explicit);
  if (!at || text === undefined) return rest;
  const fromFile = settingsFor(parsed(text, at.path), 'daemon').flatMap(([k, v]) => [`--${k}`, v]);
  return [...fromFile, ...rest];
}

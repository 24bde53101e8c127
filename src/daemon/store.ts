// The state directory: checked at start (not writable by group or others, owned by the daemon's user),
// the flock that keeps one daemon per directory, and config.json written atomically
// (temp file, fsync, rename, fsync of the directory) so that a kill at any instant leaves either the old
// or the new configuration. Every byte is written or the save fails (a full disk is LBDSR_NO_SPACE, 507)
// with the temp file removed and the previous config.json untouched. A state over MAX_STATE_BYTES
// (limits.ts) is neither written (LBDSR_STATE_TOO_LARGE, 507) nor read at start.
import {
  closeSync,
  constants,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { LbdsrError } from '../core/errors.js';
import { flock, LOCK_EX, LOCK_NB } from '../kernel/libc.js';
import { replaceFile } from './atomic-file.js';
import type { StoredInstance } from './config.js';
import { MAX_STATE_BYTES } from './limits.js';

/** The lock file may exist (left by a dead daemon) but is never followed through a symbolic link. */
const LOCK_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW;

export interface PersistedState {
  version: 1;
  instances: StoredInstance[];
}

export function configPath(stateDir: string): string {
  return join(stateDir, 'config.json');
}

/** Reads the persisted state; an absent file is an empty state, an unreadable one an error. */
export function loadState(stateDir: string): PersistedState {
  const path = configPath(stateDir);
  // temp files of writes interrupted by a kill
  for (const f of readdirSync(stateDir)) {
    if (f.startsWith('config.json.tmp.')) rmSync(join(stateDir, f), { force: true });
  }
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_STATE_BYTES) {
      throw new LbdsrError(
        'LBDSR_STATE_TOO_LARGE',
        `${path} is ${size} bytes, over the ${MAX_STATE_BYTES} a state file may have; not read`,
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, instances: [] };
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new LbdsrError('LBDSR_BAD_BODY', `${path} is not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const p = parsed as Partial<PersistedState>;
  if (p?.version !== 1 || !Array.isArray(p.instances)) {
    throw new LbdsrError('LBDSR_BAD_BODY', `${path} is not an lbdsr state file (version 1)`);
  }
  const seen = new Set<unknown>();
  for (const i of p.instances) {
    const name = (i as { name?: unknown } | null)?.name;
    if (seen.has(name)) {
      throw new LbdsrError('LBDSR_EXISTS', `${path} names instance '${String(name)}' more than once`);
    }
    seen.add(name);
  }
  return p as PersistedState;
}

/**
 * Replaces config.json atomically (atomic-file.ts: a fresh temp file, O_EXCL|O_NOFOLLOW, never through a
 * planted link; every byte written and fsynced, then renamed over the old file; mode 0600). On any failure the temp file is removed
 * and config.json is left as it was; a full disk is LBDSR_NO_SPACE, anything else LBDSR_INTERNAL.
 */
export function saveState(stateDir: string, state: PersistedState, maxBytes = MAX_STATE_BYTES): void {
  const path = configPath(stateDir);
  const data = Buffer.from(`${JSON.stringify(state, null, 2)}\n`);
  if (data.length > maxBytes) {
    throw new LbdsrError(
      'LBDSR_STATE_TOO_LARGE',
      `the configuration would take ${data.length} bytes, over the ${maxBytes} the state file may have; nothing changed`,
    );
  }
  try {
    replaceFile(path, data, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      throw new LbdsrError(
        'LBDSR_NO_SPACE',
        `no space left to save the configuration (${data.length} bytes) in ${stateDir}; nothing changed`,
        { cause: e },
      );
    }
    throw new LbdsrError('LBDSR_INTERNAL', 'could not save the configuration', { cause: e });
  }
}

export interface StateLock {
  release(): void;
}

/**
 * Refuses a state directory that someone else could write into (group- or world-writable) or that
 * belongs to another user: whoever can write there can rewrite the balancer's configuration.
 */
export function checkStateDir(stateDir: string): void {
  const st = statSync(stateDir);
  const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
  if (!st.isDirectory()) {
    throw new LbdsrError('LBDSR_BAD_VALUE', `state directory ${stateDir} is not a directory`);
  }
  if (st.mode & 0o022) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      `state directory ${stateDir} has mode ${mode}, writable by group or others; chmod go-w it (0700 is best)`,
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      `state directory ${stateDir} is owned by uid ${st.uid}, not by the daemon's user (uid ${uid})`,
    );
  }
}

/**
 * Takes the state directory's lock: flock(LOCK_EX|LOCK_NB) on lbdsrd.lock, held through the open file
 * for the daemon's life. The kernel drops it when the daemon dies, however it dies, so a lock file left
 * behind never blocks, and of two daemons starting together exactly one gets it (a live owner gives
 * LBDSR_CONFLICT naming its pid, which the file records for people). The file itself stays: removing it
 * would let a third daemon lock a new file while the first still holds the old one.
 */
export function acquireLock(stateDir: string): StateLock {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  checkStateDir(stateDir);
  const path = join(stateDir, 'lbdsrd.lock');
  const fd = openSync(path, LOCK_FLAGS, 0o600);
  try {
    if (!flock(fd, LOCK_EX | LOCK_NB, path)) {
      const pid = readFileSync(path, 'utf8').trim().split(' ')[0] || 'unknown';
      throw new LbdsrError(
        'LBDSR_CONFLICT',
        `another lbdsrd (pid ${pid}) is running with state directory ${stateDir}; stop it first`,
      );
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      closeSync(fd); // closing the last descriptor of the open file releases the flock
    },
  };
}

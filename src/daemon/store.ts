// The state directory: the lock that keeps one daemon per directory, and config.json written atomically
// (temp file, fsync, rename, fsync of the directory) so that a kill at any instant leaves either the old
// or the new configuration. Every byte is written or the save fails (a full disk is LBDSR_NO_SPACE, 507)
// with the temp file removed and the previous config.json untouched.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { LbdsrError } from '../core/errors.js';
import type { StoredInstance } from './config.js';

/** A temp file is always a new regular file: never an existing one, never through a symbolic link. */
const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

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
  return p as PersistedState;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes all of `data` to `fd` (a write may be short: on a full disk it stops at the last free page). */
function writeAll(fd: number, data: Buffer): void {
  for (let off = 0; off < data.length; ) {
    const n = writeSync(fd, data, off, data.length - off);
    if (n <= 0) throw Object.assign(new Error('write wrote nothing'), { code: 'EIO' });
    off += n;
  }
}

/**
 * Replaces config.json atomically: a fresh temp file (O_EXCL|O_NOFOLLOW: never through a planted link),
 * every byte written and fsynced, then renamed over the old file. On any failure the temp file is removed
 * and config.json is left as it was; a full disk is LBDSR_NO_SPACE, anything else LBDSR_INTERNAL.
 */
export function saveState(stateDir: string, state: PersistedState): void {
  const path = configPath(stateDir);
  const tmp = `${path}.tmp.${process.pid}.${randomBytes(4).toString('hex')}`;
  const data = Buffer.from(`${JSON.stringify(state, null, 2)}\n`);
  let created = false;
  try {
    const fd = openSync(tmp, TEMP_FLAGS, 0o600);
    created = true;
    try {
      writeAll(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    created = false;
    fsyncDir(stateDir);
  } catch (e) {
    if (created) rmSync(tmp, { force: true });
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

/** Start time of a process (field 22 of /proc/PID/stat), to tell a live owner from a reused pid. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number, start: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTime(pid);
  return start === undefined || now === undefined || now === start;
}

export interface StateLock {
  release(): void;
}

/**
 * Takes the state directory's lock (a file holding "pid starttime"). A lock left by a dead process is
 * taken over; a live owner gives LBDSR_CONFLICT.
 */
export function acquireLock(stateDir: string): StateLock {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, 'lbdsrd.lock');
  const mine = `${process.pid} ${startTime(process.pid) ?? ''}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, mine);
      fsyncSync(fd);
      closeSync(fd);
      return {
        release() {
          try {
            if (readFileSync(path, 'utf8') === mine) unlinkSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = '';
    try {
      owner = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    const [pidText, start] = owner.trim().split(' ');
    const pid = Number(pidText);
    if (Number.isInteger(pid) && pid > 0 && alive(pid, start || undefined)) {
      throw new LbdsrError(
        'LBDSR_CONFLICT',
        `another lbdsrd (pid ${pid}) is running with state directory ${stateDir}; stop it first`,
      );
    }
    try {
      unlinkSync(path);
    } catch {
      // someone else took it over; retry
    }
  }
  throw new LbdsrError('LBDSR_CONFLICT', `could not take the lock ${path}`);
}

// Replacing a file so that a reader, or a kill at any instant, sees the old content or the new, never a
// part: a fresh temp file beside it (O_EXCL|O_NOFOLLOW and a random name: never an existing file, never
// through a link someone planted), every byte written (a write may be short on a full disk), its mode set
// with fchmod (the umask does not decide who may read it), fsynced, renamed over the file, and the
// directory fsynced. On any failure the temp file is removed and the file is left as it was; the error
// is the system's (callers map it to their LbdsrError). Used for config.json (store.ts) and the announce
// file (runtime/announce-hooks.ts).
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A temp file is always a new regular file: never an existing one, never through a symbolic link. */
const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Writes all of `data` to `fd` (a write may be short: on a full disk it stops at the last free page). */
function writeAll(fd: number, data: Buffer): void {
  for (let off = 0; off < data.length; ) {
    const n = writeSync(fd, data, off, data.length - off);
    if (n <= 0) throw Object.assign(new Error('write wrote nothing'), { code: 'EIO' });
    off += n;
  }
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `path` with `data`, file mode `mode` (see the header). */
export function replaceFile(path: string, data: Buffer, mode: number): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let created = false;
  try {
    const fd = openSync(tmp, TEMP_FLAGS, mode);
    created = true;
    try {
      fchmodSync(fd, mode);
      writeAll(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    created = false;
    fsyncDir(dir);
  } finally {
    if (created) rmSync(tmp, { force: true });
  }
}

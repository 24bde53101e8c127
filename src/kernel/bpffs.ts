// bpffs: where lbdsr pins its XDP programs and maps (/sys/fs/bpf/lbdsr/<instance>/), so that
// they outlive the daemon. Mounts bpffs when it is missing (common on minimal machines).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { LbdsrError } from '../core/errors.js';
import { mountRaw, strerror } from './libc.js';

export const BPFFS_ROOT = '/sys/fs/bpf';
const BPF_FS_MAGIC_NAME = 'bpf';

function mountedAt(dir: string): boolean {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((l) => {
        const f = l.split(' ');
        return f[1] === dir && f[2] === BPF_FS_MAGIC_NAME;
      });
  } catch {
    return false;
  }
}

/** Mounts bpffs at /sys/fs/bpf unless it is there already. */
export function ensureBpffs(root = BPFFS_ROOT): void {
  if (mountedAt(root)) return;
  if (!existsSync(root)) mkdirSync(root, { recursive: true });
  const rc = mountRaw('bpf', root, 'bpf', 0, 'mode=0700');
  if (rc !== 0 && !mountedAt(root)) {
    throw new LbdsrError(
      'LBDSR_NOT_AVAILABLE',
      `cannot mount bpffs at ${root}: ${strerror(-rc)} (errno ${-rc})`,
    );
  }
}

/** The pin directory of an instance, created when `create`. */
export function pinDir(instance: string, create: boolean, root = BPFFS_ROOT): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(instance) || instance === '.' || instance === '..') {
    throw new LbdsrError('LBDSR_BAD_VALUE', `instance name '${instance}' cannot name a bpffs directory`);
  }
  const dir = `${root}/lbdsr/${instance}`;
  if (create) {
    ensureBpffs(root);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  return dir;
}

/** Removes one pin (the object lives on while something else holds it). */
export function unpin(path: string): void {
  rmSync(path, { force: true });
}

/** Removes every pin of the directory and the directory (and lbdsr/ when it is left empty). */
export function unpinAll(dir: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) rmSync(`${dir}/${f}`, { force: true });
  rmdirSync(dir);
  const parent = dir.slice(0, dir.lastIndexOf('/'));
  try {
    if (readdirSync(parent).length === 0) rmdirSync(parent);
  } catch {
    // another instance's directory is there, or it is already gone
  }
}

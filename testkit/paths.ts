// Where the repository and its programs are, for code compiled into dist/testkit/.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file runs from dist/testkit/). */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(REPO, 'bin');
export const LBDSRD = join(BIN, 'lbdsrd');
export const LBDSRCTL = join(BIN, 'lbdsrctl');

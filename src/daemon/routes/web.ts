// The live status page (src/web/, docs/operations.md): GET / and its script and style sheet, plain
// files with no build step, read once at start from the package's src/web/ (tsc compiles only .ts, so
// the files are found by walking up from this module to the package, which works from dist/ and from
// an installed package alike). The three files hold no data and are served without the bearer token
// (`public`); the page reads everything through the API, sending the token the user gives it. Strict
// headers: a Content-Security-Policy that allows only this origin's script, style and API.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LbdsrError } from '../../core/errors.js';
import type { RouteContext } from './context.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without the bearer token: static files that hold no data (http.ts honours it). */
    public?: boolean;
  }
}

/** The page's files: URL, file under src/web/, media type. */
export const WEB_FILES: ReadonlyArray<[url: string, file: string, type: string]> = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/status.js', 'status.js', 'text/javascript; charset=utf-8'],
  ['/status.css', 'status.css', 'text/css; charset=utf-8'],
];

const HEADERS = {
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** src/web/ of the package this module belongs to. */
export function webDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 6; up++, dir = dirname(dir)) {
    const candidate = join(dir, 'src', 'web');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
  }
  throw new LbdsrError('LBDSR_INTERNAL', `the status page (src/web/) is missing from the package`);
}

/** Registers the page. `tokenRequired` tells the page to ask for the token before its first request. */
export function webRoutes({ app }: RouteContext, tokenRequired: boolean): void {
  const dir = webDir();
  for (const [url, file, type] of WEB_FILES) {
    let body = readFileSync(join(dir, file), 'utf8');
    if (file === 'index.html')
      body = body.replace('data-auth="none"', `data-auth="${tokenRequired ? 'bearer' : 'none'}"`);
    app.get(url, {
      schema: { hide: true },
      config: { public: true },
      handler: async (_req, reply) => reply.headers(HEADERS).type(type).send(body),
    });
  }
}

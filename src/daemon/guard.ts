// Who may talk to the API, checked on every request before anything else (an onRequest hook): a
// browser page from another site may not (its foreign Origin is refused), a page on a name rebound to
// the balancer's address may not (without a token, a Host that is not the listen address or loopback is
// refused: DNS rebinding), and with a token only the bearer of it may (every refusal logged with the
// remote address). Tokens are compared in constant time; `Bearer` is matched in any case.
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LbdsrError } from '../core/errors.js';

export interface GuardOptions {
  /** Bearer token every request must carry, when set. */
  token?: string;
  /** The address the API listens on: the one name besides loopback that Origin and Host may give. */
  listenHost?: string;
}

/** Whether `host` (a name or an address, IPv6 with or without brackets) is the loopback. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** The host name of a `host[:port]` header value (brackets kept off an IPv6 address), or undefined. */
function hostOf(authority: string): string | undefined {
  try {
    return new URL(`http://${authority}`).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  } catch {
    return undefined;
  }
}

function bearerOk(header: string | undefined, token: string): boolean {
  const m = /^bearer[ \t]+(.*)$/i.exec(header ?? '');
  const got = Buffer.from(m?.[1] ?? '');
  const want = Buffer.from(token);
  // the lengths differ for a wrong token of another length: comparing want with itself keeps the time
  return timingSafeEqual(got.length === want.length ? got : want, want) && got.length === want.length;
}

/** Installs the checks (see the header) as the first onRequest hook. */
export function installGuard(app: FastifyInstance, opts: GuardOptions): void {
  const own = opts.listenHost?.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const ours = (host: string | undefined) => host !== undefined && (isLoopback(host) || host === own);
  const { token } = opts;
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      // `null` (a sandboxed page, a file) and anything that is not a URL are foreign too
      let host: string | undefined;
      try {
        host = new URL(origin).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
      } catch {}
      if (!ours(host)) {
        throw new LbdsrError(
          'LBDSR_FOREIGN_ORIGIN',
          `requests from a web page of another origin (${origin.slice(0, 100)}) are refused`,
        );
      }
    }
    if (token) {
      if (!bearerOk(req.headers.authorization, token)) {
        req.log.warn({ remote: req.ip, method: req.method, url: req.url }, 'unauthorized request');
        throw new LbdsrError('LBDSR_UNAUTHORIZED', 'missing or wrong bearer token');
      }
    } else if (req.headers.host !== undefined && !ours(hostOf(req.headers.host))) {
      throw new LbdsrError(
        'LBDSR_FOREIGN_HOST',
        `Host ${req.headers.host.slice(0, 100)} is not this daemon's address (${opts.listenHost ?? 'loopback'}); without a token only loopback names are served`,
      );
    }
  });
}

// lbdsrctl's one HTTP exchange with lbdsrd, over node:http (node:https for an https:// URL). Not fetch:
// in Node 20 the first fetch loads undici, which costs a CLI command about a third of its start-up.
import type { IncomingMessage, RequestOptions } from 'node:http';
import { API_PREFIX } from './tree.js';

/** The daemon refused (code from its `{code, message}` body) or is not reachable (DAEMON_DOWN). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface Endpoint {
  /** Base URL of the daemon, without a trailing '/'. */
  url: string;
  token?: string;
  /** PEM CA certificate(s) for an https:// URL (instead of the system's). */
  ca?: string;
}

interface Answer {
  status: number;
  text: string;
}

async function exchange(url: URL, options: RequestOptions, payload: string | undefined): Promise<Answer> {
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** `method path` below the API prefix; resolves to the decoded JSON answer, throws ApiError. */
export async function request(
  to: Endpoint,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 60_000,
): Promise<unknown> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = {};
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  if (to.token) headers.authorization = `Bearer ${to.token}`;
  const signal = AbortSignal.timeout(timeoutMs);
  let answer: Answer;
  try {
    // agent: false: one connection, closed after the answer (a kept-alive socket would hold the process)
    answer = await exchange(
      new URL(`${to.url}${API_PREFIX}${path}`),
      { method, headers, signal, agent: false, ...(to.ca ? { ca: to.ca } : {}) },
      payload,
    );
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
      throw new ApiError(
        `the certificate of the lbdsr daemon at ${to.url} is not trusted (${code}): give its CA with --cacert FILE or LBDSR_CACERT`,
        'DAEMON_UNTRUSTED',
        { cause: e },
      );
    }
    const why = signal.aborted
      ? `no answer within ${timeoutMs / 1000} s`
      : ((e as { code?: string }).code ?? (e as Error).message);
    throw new ApiError(
      `the lbdsr daemon is not reachable at ${to.url} (${why}); is lbdsrd running?`,
      'DAEMON_DOWN',
      {
        cause: e,
      },
    );
  }
  let data: unknown;
  try {
    data = answer.text ? JSON.parse(answer.text) : undefined;
  } catch {
    data = answer.text;
  }
  if (answer.status < 200 || answer.status > 299) {
    const d = data as { code?: string; message?: string } | undefined;
    throw new ApiError(d?.message ?? `HTTP ${answer.status}`, d?.code ?? `HTTP_${answer.status}`);
  }
  return data;
}

// Request plumbing of the REST API: the fastify options (ajv as validation.ts sets it up, router
// errors as {code, message}, the body limit), the JSON and YAML body parsers (only media types a web
// page cannot send cross-site without a preflight; depth bounded before parsing), the request guard
// (guard.ts: Origin, Host, bearer token), and the one error
// handler that turns every error (LbdsrError, a schema violation, a fastify error) into the API's
// {code, message} body with the status of its code.
import type { ErrorObject } from 'ajv';
import {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { parse as parseYaml } from 'yaml';
import { describeError, type ErrorCode, LbdsrError } from '../core/errors.js';
import { checkName, parsePoolId } from './document.js';
import { type GuardOptions, installGuard } from './guard.js';
import { bodyError, lazyValidator, shown } from './validation.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The resource a route addresses, for messages: a path below the instance with the route's
     * parameters (`ports/:port`), '' for the instance itself; absent for the list of instances.
     */
    where?: string;
    /** What a GET answers, for /openapi.json only (the answer itself is serialised as it is). */
    shows?: object;
  }
}

/** The HTTP status of every error code (docs/api.md has the same table). */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  LBDSR_BAD_MAC: 400,
  LBDSR_BAD_IPV4: 400,
  LBDSR_BAD_IPV6: 400,
  LBDSR_BAD_VIP: 400,
  LBDSR_BAD_ID: 400,
  LBDSR_BAD_VALUE: 400,
  LBDSR_BAD_BODY: 400,
  LBDSR_UNKNOWN_KEY: 400,
  LBDSR_NO_SUCH_INTERFACE: 400,
  LBDSR_TOO_MANY: 400,
  LBDSR_NO_PROBE_IP: 400,
  LBDSR_NOT_FOUND: 404,
  LBDSR_EXISTS: 409,
  LBDSR_CONFLICT: 409,
  LBDSR_NOT_AVAILABLE: 409,
  LBDSR_UNAUTHORIZED: 401,
  LBDSR_FOREIGN_ORIGIN: 403,
  LBDSR_FOREIGN_HOST: 421,
  LBDSR_METHOD_NOT_ALLOWED: 405,
  LBDSR_TOO_LARGE: 413,
  LBDSR_UNSUPPORTED_MEDIA_TYPE: 415,
  LBDSR_NO_SPACE: 507,
  LBDSR_NO_MEMORY: 507,
  LBDSR_STATE_TOO_LARGE: 507,
  LBDSR_INTERNAL: 500,
};

/**
 * The largest body: a pool of 4,096 backends (the most a pool holds, schema.ts LIMITS) is about 0.3 MiB
 * of compact JSON, 0.5 MiB pretty-printed; YAML is about as long. 4 MiB leaves room for comments and
 * formatting; larger is a 413.
 */
export const BODY_LIMIT = 4 * 1024 * 1024;

/** How long a client may take (ms): see docs/api.md "Transport". */
export interface Timeouts {
  /** To send a whole request, headers and body (a slow-loris connection is closed with a 408). */
  requestMs: number;
  /** Of silence on a connection, while a request is read or answered (beyond the plane's 20 s). */
  connectionMs: number;
  /** A kept-alive connection waits this long for its next request. */
  keepAliveMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { requestMs: 60_000, connectionMs: 120_000, keepAliveMs: 5_000 };

export interface Transport {
  /** PEM certificate chain and key: the API is served over HTTPS. */
  tls?: { cert: string; key: string };
  timeouts?: Partial<Timeouts>;
}

/** fastify's options for lbdsrd. */
export function serverOptions(logLevel: string, transport: Transport = {}): FastifyServerOptions {
  const t = { ...DEFAULT_TIMEOUTS, ...transport.timeouts };
  // node checks the request timeout of open connections this often (its default, 30 s, lets a slow
  // connection live up to 30 s past its timeout)
  const server = {
    connectionsCheckingInterval: Math.min(1000, t.requestMs),
    headersTimeout: t.requestMs,
    requestTimeout: t.requestMs,
  };
  // fastify takes `https` (the TLS options plus the server's) or `http` (the server's); the type of the
  // app stays the HTTP one either way (routes and hooks do not depend on it)
  const listener: object = transport.tls ? { https: { ...transport.tls, ...server } } : { http: server };
  return {
    logger: { level: logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: BODY_LIMIT,
    requestTimeout: t.requestMs,
    connectionTimeout: t.connectionMs,
    keepAliveTimeout: t.keepAliveMs,
    ...listener,
    // malformed URL encoding or an over-long path segment: a {code, message} error like every other
    frameworkErrors: (err, _req, reply) => {
      (reply as unknown as FastifyReply)
        .status(400)
        .send({ code: 'LBDSR_BAD_VALUE', message: `bad request path: ${err.message}` });
    },
  };
}

/** The resource of the request's route, for messages (`lb1 ports/fp`, `instance lb1`). */
export function whereOf(req: FastifyRequest): string {
  const template = req.routeOptions.config.where;
  const params = (req.params ?? {}) as Record<string, string | undefined>;
  if (template === undefined) return 'instance';
  if (template === '') return `instance ${params.name ?? ''}`;
  return `${params.name ?? ''} ${template.replace(/:(\w+)/g, (_, p: string) => params[p] ?? '')}`;
}

/** The error of a path parameter that failed its pattern, with the message the converters give. */
function paramsError(req: FastifyRequest): LbdsrError {
  const params = (req.params ?? {}) as Record<string, string | undefined>;
  try {
    if (params.name !== undefined) checkName(params.name, 'instance name');
    if (params.port !== undefined) checkName(params.port, 'name');
    if (params.id !== undefined) parsePoolId(params.id);
  } catch (e) {
    if (e instanceof LbdsrError) return e;
  }
  return new LbdsrError('LBDSR_BAD_VALUE', `bad request path: ${req.url}`);
}

function validationError(err: FastifyError, req: FastifyRequest): LbdsrError {
  const errors = (err.validation ?? []) as ErrorObject[];
  if (err.validationContext === 'params') return paramsError(req);
  if (err.validationContext === 'body') return bodyError(errors, whereOf(req));
  const first = errors[0];
  const what = first?.instancePath.replace(/^\//, '') || String(err.validationContext);
  return new LbdsrError(
    'LBDSR_BAD_VALUE',
    `${what} ${shown(first?.data)} is not valid (${first?.message ?? err.message})`,
  );
}

/**
 * How deep a body may nest. The deepest document (an instance's backend pool entry's mac) is 5 levels;
 * a body nested deeper is refused before JSON.parse or validation would recurse through it.
 */
export const MAX_DEPTH = 32;

const tooDeep = () =>
  new LbdsrError('LBDSR_BAD_BODY', `the body is nested deeper than ${MAX_DEPTH} levels; no document is`);

/** The widest indentation (spaces, tabs and `- `, `? `, `: ` indicators) a line of a YAML body may have. */
const MAX_INDENT = 256;

/**
 * Whether a body nests beyond what the parsers may be given, by a linear scan before any parsing: more
 * than MAX_DEPTH open arrays or objects (JSON: strings skipped; YAML flow collections), or (YAML) a line
 * indented beyond MAX_INDENT, which block nesting needs (`- - - ...` 100,000 deep exhausted the YAML
 * parser's memory and killed the daemon).
 */
function textTooDeep(text: string, kind: 'json' | 'yaml'): boolean {
  let depth = 0;
  let inString = false;
  let indent = 0; // YAML: width of the current line's indentation so far; -1 past it
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (kind === 'yaml') {
      if (c === 0x0a) indent = 0;
      else if (indent >= 0 && (c === 0x20 || c === 0x09 || c === 0x2d || c === 0x3f || c === 0x3a)) {
        if (++indent > MAX_INDENT) return true;
      } else indent = -1;
    } else if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
      continue;
    } else if (c === 0x22) inString = true;
    if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_DEPTH) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Whether a parsed value nests more than MAX_DEPTH arrays or objects (iterative: no recursion). */
function valueTooDeep(root: unknown): boolean {
  const stack: Array<[unknown, number]> = [[root, 0]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [v, depth] = top;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_DEPTH) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

function parseText(kind: 'json' | 'yaml') {
  const what = kind.toUpperCase();
  return (req: FastifyRequest, text: string, done: (e: Error | null, v?: unknown) => void) => {
    // a blank body is not a document (it used to be taken for no body: PUT reset the instance)
    if (text.trim() === '') {
      return done(
        new LbdsrError('LBDSR_BAD_BODY', `${whereOf(req)}: a body is required (this one is blank)`),
      );
    }
    if (textTooDeep(text, kind)) return done(tooDeep());
    let value: unknown;
    try {
      // YAML goes through JSON: aliases can build a circular document (`x: &a [*a]`) nothing else handles
      // (logLevel error: YAML warnings would print client text on stderr, outside the log)
      const doc: unknown = kind === 'json' ? JSON.parse(text) : parseYaml(text, { logLevel: 'error' });
      if (kind === 'yaml' && valueTooDeep(doc)) return done(tooDeep());
      value = kind === 'json' || doc === undefined ? doc : JSON.parse(JSON.stringify(doc));
    } catch (e) {
      // the YAML parser recurses: a body nested thousands deep overflows its stack
      if (e instanceof RangeError) return done(tooDeep());
      const first = (e as Error).message.split('\n')[0];
      return done(
        new LbdsrError('LBDSR_BAD_BODY', `the body is not valid ${what}: ${first}`, {
          cause: e,
        }),
      );
    }
    done(null, value);
  };
}

/** The media types a body may have; any other is a 415. */
export const MEDIA_TYPES = ['application/json', 'application/yaml', 'application/x-yaml', 'text/yaml'];

/** The API's error for an error fastify raised itself (body too large, media type, malformed body). */
function frameworkError(err: FastifyError): LbdsrError | undefined {
  if (err.statusCode === 413) {
    return new LbdsrError('LBDSR_TOO_LARGE', `the body is larger than ${BODY_LIMIT} bytes`, { cause: err });
  }
  if (err.statusCode === 415) {
    return new LbdsrError(
      'LBDSR_UNSUPPORTED_MEDIA_TYPE',
      `the body's media type is not one the API reads (${MEDIA_TYPES.join(', ')})`,
      { cause: err },
    );
  }
  if (err.code?.startsWith('FST_ERR_CTP') || err.statusCode === 400) {
    return new LbdsrError('LBDSR_BAD_BODY', `bad request body: ${err.message}`, { cause: err });
  }
  return undefined;
}

/** Who may ask (guard.ts), body parsers, request log, and the error and not-found handlers. */
export function installPlumbing(app: FastifyInstance, guard: GuardOptions): void {
  const log = app.log;
  installGuard(app, guard);
  // response schemas document and type the answers; answers go out as they are (no per-route
  // fast-json-stringify compilation at start, nothing filtered out of a document)
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setValidatorCompiler(lazyValidator);
  app.removeContentTypeParser('application/json');
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseText('json'));
  // text/plain is not read: a web page can send it cross-site without a CORS preflight
  app.addContentTypeParser(MEDIA_TYPES.slice(1), { parseAs: 'string' }, parseText('yaml'));
  app.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'GET')
      log.info({ method: req.method, url: req.url, status: reply.statusCode }, 'request');
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e =
      err instanceof LbdsrError ? err : err.validation ? validationError(err, req) : frameworkError(err);
    if (e) {
      // an internal error shows its causes: the disk that is full, the errno of the kernel
      const message = e.code === 'LBDSR_INTERNAL' ? describeError(e) : e.message;
      if (e.code === 'LBDSR_INTERNAL') log.error({ url: req.url, err: message }, 'internal error');
      return reply.status(HTTP_STATUS[e.code]).send({ code: e.code, message });
    }
    log.error({ url: req.url, err: describeError(err), stack: err.stack }, 'internal error');
    return reply.status(500).send({ code: 'LBDSR_INTERNAL', message: err.message });
  });
  app.setNotFoundHandler((req, reply) => {
    reply
      .status(404)
      .send({ code: 'LBDSR_NOT_FOUND', message: `no such resource: ${req.method} ${req.url}` });
  });
}

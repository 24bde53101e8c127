// Request plumbing of the REST API: the fastify options (ajv as validation.ts sets it up, router
// errors as {code, message}), the JSON and YAML body parsers, the bearer-token check, and the one error
// handler that turns every error (LbdsrError, a schema violation, a fastify error) into the API's
// {code, message} body with the status of its code.
import { timingSafeEqual } from 'node:crypto';
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
  LBDSR_BAD_VIP: 400,
  LBDSR_BAD_ID: 400,
  LBDSR_BAD_VALUE: 400,
  LBDSR_BAD_BODY: 400,
  LBDSR_UNKNOWN_KEY: 400,
  LBDSR_NO_SUCH_INTERFACE: 400,
  LBDSR_TOO_MANY: 400,
  LBDSR_NOT_FOUND: 404,
  LBDSR_EXISTS: 409,
  LBDSR_CONFLICT: 409,
  LBDSR_NOT_AVAILABLE: 409,
  LBDSR_UNAUTHORIZED: 401,
  LBDSR_NO_SPACE: 507,
  LBDSR_INTERNAL: 500,
};

/** fastify's options for lbdsrd. */
export function serverOptions(logLevel: string): FastifyServerOptions {
  return {
    logger: { level: logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: 4 * 1024 * 1024,
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

function parseText(kind: 'json' | 'yaml') {
  return (_req: FastifyRequest, text: string, done: (e: Error | null, v?: unknown) => void) => {
    if (text.trim() === '') return done(null, undefined);
    let value: unknown;
    try {
      // YAML goes through JSON: aliases can build a circular document (`x: &a [*a]`) nothing else handles
      // (logLevel error: YAML warnings would print client text on stderr, outside the log)
      const doc: unknown = kind === 'json' ? JSON.parse(text) : parseYaml(text, { logLevel: 'error' });
      value = kind === 'json' || doc === undefined ? doc : JSON.parse(JSON.stringify(doc));
    } catch (e) {
      const first = (e as Error).message.split('\n')[0];
      return done(
        new LbdsrError('LBDSR_BAD_BODY', `the body is not valid ${kind.toUpperCase()}: ${first}`, {
          cause: e,
        }),
      );
    }
    done(null, value);
  };
}

function bearerOk(header: string | undefined, token: string): boolean {
  const want = Buffer.from(`Bearer ${token}`);
  const got = Buffer.from(header ?? '');
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Body parsers, authentication, request log, and the error and not-found handlers. */
export function installPlumbing(app: FastifyInstance, token: string | undefined): void {
  const log = app.log;
  // response schemas document and type the answers; answers go out as they are (no per-route
  // fast-json-stringify compilation at start, nothing filtered out of a document)
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setValidatorCompiler(lazyValidator);
  app.removeContentTypeParser('application/json');
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseText('json'));
  app.addContentTypeParser(
    ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'],
    { parseAs: 'string' },
    parseText('yaml'),
  );
  if (token) {
    app.addHook('onRequest', async (req) => {
      if (req.routeOptions.config.public) return; // the status page's static files (routes/web.ts)
      if (!bearerOk(req.headers.authorization, token)) {
        throw new LbdsrError('LBDSR_UNAUTHORIZED', 'missing or wrong bearer token');
      }
    });
  }
  app.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'GET')
      log.info({ method: req.method, url: req.url, status: reply.statusCode }, 'request');
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e = err instanceof LbdsrError ? err : err.validation ? validationError(err, req) : undefined;
    if (e) {
      // an internal error shows its causes: the disk that is full, the errno of the kernel
      const message = e.code === 'LBDSR_INTERNAL' ? describeError(e) : e.message;
      if (e.code === 'LBDSR_INTERNAL') log.error({ url: req.url, err: message }, 'internal error');
      return reply.status(HTTP_STATUS[e.code]).send({ code: e.code, message });
    }
    if (err.code?.startsWith('FST_ERR_CTP') || [400, 413, 415].includes(err.statusCode ?? 0)) {
      return reply.status(400).send({ code: 'LBDSR_BAD_BODY', message: `bad request body: ${err.message}` });
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

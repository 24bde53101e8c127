// Routes of the instances themselves: list and create (`/lbdsr/`), and read, create, replace, update
// and delete one instance (`/lbdsr/:name/`).
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LbdsrError } from '../../core/errors.js';
import type { StoredInstance } from '../config.js';
import { checkName, instanceFromBody, patchInstance } from '../document.js';
import type { InstanceView } from '../instances.js';
import { API_PREFIX, InstanceSchema, SERVICE } from '../schema.js';
import { asIs, ERRORS, nameOf, paramsOf, prepareBody, type RouteContext } from './context.js';
import { DRY_RUN_QUERY, isDryRun, runChange, WRITE_ANSWERS } from './dry-run.js';

export const ROOT_URL = `${API_PREFIX}/${SERVICE}/`;
const INSTANCE_URL = `${ROOT_URL}:name/`;

export function instanceRoutes({ app, instances }: RouteContext): void {
  const params = paramsOf(INSTANCE_URL);
  const querystring = DRY_RUN_QUERY;
  const CHANGED = WRITE_ANSWERS;
  const create = (req: FastifyRequest, reply: FastifyReply, name: string, body: unknown) =>
    runChange(
      instances,
      req,
      reply,
      'POST',
      (old) => {
        if (old) throw new LbdsrError('LBDSR_EXISTS', `instance ${name} already exists`);
        return instanceFromBody(name, body);
      },
      name,
    );

  app.get(ROOT_URL, {
    schema: { summary: 'list instances', response: { 200: asIs<InstanceView[]>(), ...ERRORS } },
    config: { shows: Type.Array(InstanceSchema) },
    handler: async () => instances.all().map((i) => instances.view(i)),
  });
  app.post(ROOT_URL, {
    schema: { summary: 'create an instance', querystring, body: InstanceSchema, response: CHANGED },
    preValidation: prepareBody(InstanceSchema),
    handler: async (req, reply) => {
      const { name } = req.body;
      if (!name) throw new LbdsrError('LBDSR_BAD_VALUE', 'the body needs the name of the instance');
      checkName(name, 'instance name');
      return create(req, reply, name, req.body);
    },
  });

  const config = { where: '' };
  app.get(INSTANCE_URL, {
    schema: { summary: 'read an instance', params, response: { 200: asIs<InstanceView>(), ...ERRORS } },
    config: { ...config, shows: InstanceSchema },
    handler: async (req) => instances.view(instances.need(nameOf(req))),
  });
  app.post(INSTANCE_URL, {
    schema: { summary: 'create an instance', params, querystring, body: InstanceSchema, response: CHANGED },
    config,
    preValidation: prepareBody(InstanceSchema, {}),
    handler: async (req, reply) => create(req, reply, nameOf(req), req.body),
  });
  app.put(INSTANCE_URL, {
    schema: { summary: 'replace an instance', params, querystring, body: InstanceSchema, response: CHANGED },
    config,
    preValidation: prepareBody(InstanceSchema, {}),
    handler: async (req, reply) =>
      runChange(instances, req, reply, 'PUT', () => instanceFromBody(nameOf(req), req.body)),
  });
  app.patch(INSTANCE_URL, {
    schema: { summary: 'update an instance', params, querystring, body: InstanceSchema, response: CHANGED },
    config,
    preValidation: prepareBody(InstanceSchema),
    handler: async (req, reply) => {
      const name = nameOf(req);
      const body = req.body;
      const patch = (old: StoredInstance | undefined) => {
        if (!old) throw new LbdsrError('LBDSR_NOT_FOUND', `instance ${name} does not exist`);
        if (body.name !== undefined && body.name !== name) {
          throw new LbdsrError('LBDSR_BAD_VALUE', `name '${body.name}' in the body does not match '${name}'`);
        }
        return patchInstance(old, body);
      };
      return runChange(instances, req, reply, 'PATCH', patch);
    },
  });
  app.delete(INSTANCE_URL, {
    schema: { summary: 'delete an instance', params, querystring, response: CHANGED },
    config,
    // a dry run of the deletion: what emptying the instance would move
    handler: async (req, reply) =>
      runChange(instances, req, reply, 'DELETE', (old) =>
        isDryRun(req) && old ? { ...old, frontend: {}, backend: { pool: [] }, services: [] } : null,
      ),
  });
}

// Routes of the instances themselves: list and create (`/lbdsr/`), and read, create, replace, update
// and delete one instance (`/lbdsr/:name/`).
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { LbdsrError } from '../../core/errors.js';
import type { StoredInstance } from '../config.js';
import { checkName, instanceFromBody, patchInstance } from '../document.js';
import type { InstanceView } from '../instances.js';
import { API_PREFIX, InstanceSchema, SERVICE } from '../schema.js';
import {
  asIs,
  CHANGED,
  changed,
  ERRORS,
  nameOf,
  paramsOf,
  prepareBody,
  type RouteContext,
  timedChange,
} from './context.js';

export const ROOT_URL = `${API_PREFIX}/${SERVICE}/`;
const INSTANCE_URL = `${ROOT_URL}:name/`;

export function instanceRoutes({ app, instances }: RouteContext): void {
  const params = paramsOf(INSTANCE_URL);
  const create = (reply: FastifyReply, name: string, body: unknown) =>
    timedChange(reply, (timing) =>
      instances.change(
        name,
        (old) => {
          if (old) throw new LbdsrError('LBDSR_EXISTS', `instance ${name} already exists`);
          return instanceFromBody(name, body);
        },
        timing,
      ),
    );

  app.get(ROOT_URL, {
    schema: { summary: 'list instances', response: { 200: asIs<InstanceView[]>(), ...ERRORS } },
    config: { shows: Type.Array(InstanceSchema) },
    handler: async () => instances.all().map((i) => instances.view(i)),
  });
  app.post(ROOT_URL, {
    schema: { summary: 'create an instance', body: InstanceSchema, response: CHANGED },
    preValidation: prepareBody(InstanceSchema),
    handler: async (req, reply) => {
      const { name } = req.body;
      if (!name) throw new LbdsrError('LBDSR_BAD_VALUE', 'the body needs the name of the instance');
      checkName(name, 'instance name');
      return changed(reply, 'POST', await create(reply, name, req.body));
    },
  });

  const config = { where: '' };
  app.get(INSTANCE_URL, {
    schema: { summary: 'read an instance', params, response: { 200: asIs<InstanceView>(), ...ERRORS } },
    config: { ...config, shows: InstanceSchema },
    handler: async (req) => instances.view(instances.need(nameOf(req))),
  });
  app.post(INSTANCE_URL, {
    schema: { summary: 'create an instance', params, body: InstanceSchema, response: CHANGED },
    config,
    preValidation: prepareBody(InstanceSchema, {}),
    handler: async (req, reply) => changed(reply, 'POST', await create(reply, nameOf(req), req.body)),
  });
  app.put(INSTANCE_URL, {
    schema: { summary: 'replace an instance', params, body: InstanceSchema, response: CHANGED },
    config,
    preValidation: prepareBody(InstanceSchema, {}),
    handler: async (req, reply) => {
      const name = nameOf(req);
      const replace = () => instanceFromBody(name, req.body);
      return { warnings: await timedChange(reply, (timing) => instances.change(name, replace, timing)) };
    },
  });
  app.patch(INSTANCE_URL, {
    schema: { summary: 'update an instance', params, body: InstanceSchema, response: CHANGED },
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
      const warnings = await timedChange(reply, (timing) => instances.change(name, patch, timing));
      return { warnings };
    },
  });
  app.delete(INSTANCE_URL, {
    schema: { summary: 'delete an instance', params, response: CHANGED },
    config,
    handler: async (req, reply) => ({
      warnings: await timedChange(reply, (timing) => instances.change(nameOf(req), () => null, timing)),
    }),
  });
}

// lbdsrctl's copy of the resource tree (src/cli/tree.ts) against its one declaration (src/daemon/schema.ts):
// the CLI keeps a plain-data copy so that it starts without TypeBox; this test fails when the two differ.
// To regenerate after a change to schema.ts: `npx tsc -p tsconfig.json && LBDSR_WRITE_CLI_TREE=1 node
// scripts/run-tests.mjs unit/cli-tree` (it writes src/cli/tree.ts and formats it with biome).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CliNode, JsonSchema } from '../../src/cli/resources.js';
import * as tree from '../../src/cli/tree.js';
import { API_PREFIX, INSTANCE_NODE, type ResourceNode, SERVICE } from '../../src/daemon/schema.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

/** The fields of a schema the CLI reads (see JsonSchema), recursively. */
function schema(s: Record<string, unknown>): JsonSchema {
  const out: JsonSchema = {};
  if (typeof s.type === 'string') out.type = s.type;
  if (typeof s.description === 'string') out.description = s.description;
  if (s.readOnly === true) out.readOnly = true;
  if (typeof s.const === 'string') out.const = s.const;
  const props = s.properties as Record<string, Record<string, unknown>> | undefined;
  if (props) out.properties = Object.fromEntries(Object.entries(props).map(([k, p]) => [k, schema(p)]));
  const anyOf = s.anyOf as Record<string, unknown>[] | undefined;
  if (anyOf) out.anyOf = anyOf.map(schema);
  return out;
}

function node(n: ResourceNode): CliNode {
  const out: CliNode = {
    segment: n.segment,
    kind: n.kind,
    description: n.description,
    schema: schema(n.schema),
  };
  if (n.key) out.key = { field: n.key.field };
  if (n.children) out.children = n.children.map(node);
  if (n.readOnly) out.readOnly = true;
  if (n.optional) out.optional = true;
  return out;
}

function source(): string {
  return `// GENERATED from src/daemon/schema.ts by test/unit/cli-tree.test.ts (LBDSR_WRITE_CLI_TREE=1): do not edit.
// lbdsrctl's plain-data copy of the resource tree, so that the CLI starts without loading TypeBox.
import type { CliNode } from './resources.js';

export const API_PREFIX = ${JSON.stringify(API_PREFIX)};
export const SERVICE = ${JSON.stringify(SERVICE)};

export const INSTANCE_TREE: CliNode = ${JSON.stringify(node(INSTANCE_NODE))};
`;
}

test("lbdsrctl's resource tree is the daemon's (regenerate src/cli/tree.ts when this fails)", () => {
  if (process.env.LBDSR_WRITE_CLI_TREE === '1') {
    const file = join(ROOT, 'src/cli/tree.ts');
    writeFileSync(file, source());
    spawnSync('npx', ['biome', 'format', '--write', file], { cwd: ROOT, stdio: 'inherit' });
  }
  const hint = 'src/cli/tree.ts is stale: see the header of test/unit/cli-tree.test.ts to regenerate it';
  assert.equal(tree.API_PREFIX, API_PREFIX, hint);
  assert.equal(tree.SERVICE, SERVICE, hint);
  assert.deepStrictEqual(tree.INSTANCE_TREE, node(INSTANCE_NODE), hint);
});

test('the copy carries what the grammar needs: enumerations, integer fields, read-only leaves', () => {
  const t = tree.INSTANCE_TREE;
  const algorithm = t.children?.find((c) => c.segment === 'algorithm');
  assert.deepEqual(
    algorithm?.schema.anyOf?.map((s) => s.const),
    ['HASH_SESSION', 'HASH_SRC_IP'],
  );
  const pool = t.children?.find((c) => c.segment === 'backend')?.children?.find((c) => c.segment === 'pool');
  assert.equal(pool?.key?.field, 'id');
  assert.equal(pool?.schema.properties?.id?.type, 'integer');
  assert.equal(t.children?.find((c) => c.segment === 'plane')?.readOnly, true);
});

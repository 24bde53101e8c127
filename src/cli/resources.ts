// The CLI's view of lbdsrd's resource tree: plain JSON data (the types here, the data in tree.ts), so that
// lbdsrctl walks its grammar and prints `?` help without loading TypeBox. src/daemon/schema.ts stays the
// one declaration; tree.ts is generated from it and test/unit/cli-tree.test.ts fails when they differ.

/** The parts of a JSON Schema the CLI reads: coercion of k=v values, help and completion. */
export interface JsonSchema {
  type?: string;
  description?: string;
  readOnly?: boolean;
  properties?: Record<string, JsonSchema>;
  /** Enumerations are unions of string constants. */
  anyOf?: JsonSchema[];
  const?: string;
}

/** A node of the resource tree: one URL segment (see ResourceNode in src/daemon/schema.ts). */
export interface CliNode {
  /** URL segment and CLI keyword. */
  segment: string;
  /** 'action': `... NODE [k=v ...]` POSTs now (see ResourceNode in src/daemon/schema.ts). */
  kind: 'list' | 'container' | 'leaf' | 'action';
  description: string;
  /** Body schema of the node (for a list: the schema of one entry). */
  schema: JsonSchema;
  /** Lists: the key field of their entries. */
  key?: { field: string };
  children?: CliNode[];
  /** Only GET. */
  readOnly?: boolean;
  /** Leaves that may be unset by DELETE. */
  optional?: boolean;
}

/** Properties of an object schema, or undefined. */
export function propertiesOf(schema: JsonSchema): Record<string, JsonSchema> | undefined {
  return schema.type === 'object' ? schema.properties : undefined;
}

/** The allowed values of an enum-like schema (a union of string constants), or undefined. */
export function enumValues(schema: JsonSchema): string[] | undefined {
  const values = schema.anyOf?.map((s) => s.const);
  return values?.every((v): v is string => typeof v === 'string') ? values : undefined;
}

/** A short type description for help output: `A|B`, `integer`, `string`. */
export function describeType(schema: JsonSchema): string {
  const e = enumValues(schema);
  if (e) return e.join('|');
  if (schema.type === 'array') return 'list';
  if (schema.type === 'object') return 'object';
  return schema.type ?? 'value';
}

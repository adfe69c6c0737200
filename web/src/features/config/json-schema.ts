/** The part of JSON Schema (draft 2020-12, as the catalog emits it) that the generated forms read. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  default?: unknown;
  description?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
}

export type Location = (string | number)[];

/** A location as the API's problems name it: `steps[0].teamId`. */
export function formatLocation(location: Location): string {
  return location.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

/** A location as the catalog's field paths name it: `steps[].teamId`. */
export function catalogPath(location: Location): string {
  return location.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[]` : acc ? `${acc}.${part}` : part), '');
}

export function setAt(root: unknown, location: Location, value: unknown): unknown {
  const [head, ...rest] = location;
  if (head === undefined) return value;
  if (typeof head === 'number') {
    const copy = Array.isArray(root) ? [...(root as unknown[])] : [];
    copy[head] = setAt(copy[head], rest, value);
    return copy;
  }
  const copy: Record<string, unknown> = root && typeof root === 'object' && !Array.isArray(root) ? { ...(root as Record<string, unknown>) } : {};
  const next = setAt(copy[head], rest, value);
  if (next === undefined) delete copy[head];
  else copy[head] = next;
  return copy;
}

/** The variants of a union, `null` left out: a nullable field is its other variant, optional. */
export function variantsOf(schema: JsonSchema): JsonSchema[] {
  return (schema.oneOf ?? schema.anyOf ?? []).filter((v) => v.type !== 'null');
}

/** The property whose `const` tells the variants of a union apart (`field` in a ticket rule's criteria). */
export function discriminatorOf(variants: JsonSchema[]): string | undefined {
  const first = variants[0]?.properties ?? {};
  return Object.keys(first).find((key) => variants.every((v) => v.properties?.[key]?.const !== undefined));
}

export function variantIndex(variants: JsonSchema[], discriminator: string | undefined, value: unknown): number {
  if (!discriminator || !value || typeof value !== 'object') return 0;
  const tag = (value as Record<string, unknown>)[discriminator];
  return Math.max(0, variants.findIndex((v) => v.properties?.[discriminator]?.const === tag));
}

function primaryType(schema: JsonSchema): string | undefined {
  return Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
}

/** A starting value for a new item or entity: defaults, required fields filled, constants set. */
export function blankOf(schema: JsonSchema): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.default !== undefined) {
    const value = structuredClone(schema.default);
    // An object's default ({} for client restrictions) is parsed by the server, so its fields' own defaults apply:
    // the form starts with them, or a box shown unticked would be stored ticked.
    if (schema.properties && value && typeof value === 'object' && !Array.isArray(value)) return { ...(blankOf({ ...schema, default: undefined }) as object), ...value };
    return value;
  }
  const variants = variantsOf(schema);
  if (variants.length > 0) return blankOf(variants[0]!);
  if (schema.enum) return schema.enum[0];
  switch (primaryType(schema)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      // Required fields and fields with a default start filled, so the form shows what the server would store.
      for (const [key, property] of Object.entries(schema.properties ?? {})) {
        if ((schema.required ?? []).includes(key) || property.default !== undefined) out[key] = blankOf(property);
      }
      for (const [key, property] of Object.entries(schema.properties ?? {})) if (property.const !== undefined) out[key] = property.const;
      return out;
    }
    case 'array':
      return [];
    case 'boolean':
      return false;
    case 'string':
      return '';
    default:
      return undefined;
  }
}

export { primaryType };

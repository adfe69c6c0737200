import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { EntityTypeDefinition } from '../../catalog/entity-type.js';
import type { Services } from '../../services.js';
import { problems } from '../schemas.js';

const catalogEntrySchema = z.object({
  key: z.string(),
  label: z.string(),
  area: z.string(),
  description: z.string().optional(),
  tracking: z.object({
    kind: z.enum(['tracked', 'tracked-when', 'local']),
    setting: z.string().optional(),
    description: z.string().optional(),
  }),
  references: z.array(z.object({ path: z.string(), target: z.string(), thirdParty: z.boolean() })),
  records: z
    .array(z.object({ path: z.string(), target: z.enum(['customer', 'user', 'agent', 'agent-or-user']), by: z.enum(['id', 'third-party-id']) }))
    .describe('Fields naming records each instance keeps for itself (customers, users, agents), and whether by id or by third-party id'),
  sensitive: z.array(z.string()),
  instanceScoped: z.array(z.string()),
  schema: z.record(z.string(), z.unknown()).describe('JSON Schema of the body'),
}).meta({ id: 'CatalogType', description: 'A configuration type: its tracking rule, references, secrets and JSON Schema.' });

export const catalogRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    const entryOf = (def: EntityTypeDefinition): z.infer<typeof catalogEntrySchema> => ({
      key: def.key,
      label: def.label,
      area: def.area,
      ...(def.description ? { description: def.description } : {}),
      tracking:
        def.tracking.kind === 'tracked-when'
          ? { kind: def.tracking.kind, setting: def.tracking.setting, description: def.tracking.description }
          : { kind: def.tracking.kind },
      references: def.references.map((r) => ({ path: r.path, target: r.target, thirdParty: r.thirdParty ?? false })),
      records: def.records.map((r) => ({ path: r.path, target: r.target, by: r.by })),
      sensitive: def.sensitive,
      instanceScoped: def.instanceScoped,
      schema: services.catalog.jsonSchema(def.key),
    });

    app.get(
      '/v1/catalog',
      {
        config: { permission: 'config:read' },
        schema: {
          tags: ['catalog'],
          operationId: 'listCatalogTypes',
          summary: 'List configuration types',
          description: 'Every configuration type of the catalog with its tracking rule, references, sensitive and instance-scoped fields, and its JSON Schema.',
          response: { 200: z.object({ types: z.array(catalogEntrySchema) }) },
        },
      },
      async () => ({ types: services.catalog.list().map(entryOf) }),
    );

    app.get(
      '/v1/catalog/:type',
      {
        config: { permission: 'config:read' },
        schema: {
          tags: ['catalog'],
          operationId: 'getCatalogType',
          summary: 'Read a configuration type',
          description: 'One configuration type, with the JSON Schema its entities are validated against.',
          params: z.object({ type: z.string() }),
          response: { 200: catalogEntrySchema, ...problems(404) },
        },
      },
      async (request) => entryOf(services.catalog.get(request.params.type)),
    );
  };

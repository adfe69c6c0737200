import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.js';
import { settingsPatchSchema } from '../../shared/settings.js';
import { writeContext } from '../plugins/auth.js';
import { problemResponses, settingsResponseSchema } from '../schemas.js';

export const instanceRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/v1/instance',
      {
        config: { permission: 'authenticated' },
        schema: {
          tags: ['instance'],
          summary: 'This instance: identity, version, and banners for the console',
          response: {
            200: z.object({
              id: z.string(),
              name: z.string(),
              kind: z.string(),
              version: z.string(),
              trackingEnabled: z.boolean(),
              editingDisabled: z.boolean().describe('The production lock is on: tracked entities cannot be edited here.'),
              you: z.object({ id: z.string(), name: z.string(), kind: z.string(), isAdministrator: z.boolean() }),
            }),
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const settings = await services.settings.get();
        const principal = request.principal!;
        return {
          id: services.instance.id,
          name: services.instance.name,
          kind: services.instance.kind,
          version: services.instance.version,
          trackingEnabled: settings.configTracking,
          editingDisabled: settings.disableConfigEditing,
          you: { ...principal.actor, isAdministrator: principal.isAdministrator },
        };
      },
    );

    app.get(
      '/v1/settings',
      { config: { permission: 'settings:read' }, schema: { tags: ['instance'], summary: 'Instance settings', response: { 200: settingsResponseSchema, ...problemResponses } } },
      async () => services.settings.get(),
    );

    app.patch(
      '/v1/settings',
      {
        config: { permission: 'settings:edit' },
        schema: { tags: ['instance'], summary: 'Change instance settings', body: settingsPatchSchema, response: { 200: settingsResponseSchema, ...problemResponses } },
      },
      async (request) => (await services.settings.update(writeContext(request), request.body)).settings,
    );
  };

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
              banners: z
                .array(z.object({ code: z.string(), message: z.string(), action: z.string().nullable() }))
                .describe('Notices the console shows at the top of every screen.'),
              you: z.object({
                id: z.string(),
                name: z.string(),
                kind: z.string(),
                agentId: z.string(),
                isAdministrator: z.boolean(),
                permissions: z.array(z.string()),
              }),
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
          banners:
            settings.disableConfigEditing && principal.isAdministrator
              ? [
                  {
                    code: 'CONFIG_EDITING_DISABLED',
                    message: 'Editing of config-tracked entities is disabled on this instance. Lift the lock only in an emergency; turn it back on in the settings afterwards.',
                    action: 'PATCH /v1/settings {"disableConfigEditing": false}',
                  },
                ]
              : [],
          you: { ...principal.actor, agentId: principal.agent.id, isAdministrator: principal.isAdministrator, permissions: [...principal.permissions].sort() },
        };
      },
    );

    app.get(
      '/v1/settings',
      { config: { permission: 'config:edit' }, schema: { tags: ['instance'], summary: 'Instance settings', response: { 200: settingsResponseSchema, ...problemResponses } } },
      async () => services.settings.get(),
    );

    app.patch(
      '/v1/settings',
      {
        config: { permission: 'config:edit' },
        schema: { tags: ['instance'], summary: 'Change instance settings', body: settingsPatchSchema, response: { 200: settingsResponseSchema, ...problemResponses } },
      },
      async (request) => (await services.settings.update(writeContext(request), request.body, { isAdministrator: request.principal!.isAdministrator })).settings,
    );
  };

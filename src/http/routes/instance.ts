import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.js';
import { writeContext } from '../plugins/auth.js';
import { settingsPatchBody, settingsResponseSchema } from '../schemas.js';

export const instanceRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/v1/instance',
      {
        config: { permission: 'authenticated' },
        schema: {
          tags: ['instance'],
          operationId: 'getInstance',
          summary: 'This instance',
          description:
            'This instance’s identity, kind and version, whether tracking is on and editing disabled (the production lock), the banners the console shows, and who the caller is with its effective permissions.',
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
            }).meta({ id: 'Instance', description: 'This instance, as the caller sees it.' }),
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
      {
        config: { permission: 'config:edit' },
        schema: {
          tags: ['instance'],
          operationId: 'getSettings',
          summary: 'Read the settings',
          description: 'The instance-local settings: tracking, the production lock, pull-only, diff checks, third-party ids and tracking for services, reports and dashboards, and mailboxes.',
          response: { 200: settingsResponseSchema },
        },
      },
      async () => services.settings.get(),
    );

    app.patch(
      '/v1/settings',
      {
        config: { permission: 'config:edit' },
        schema: {
          tags: ['instance'],
          operationId: 'updateSettings',
          summary: 'Change the settings',
          description:
            'Changes the settings sent; unknown settings are refused. Anyone with config:edit may turn the production lock on; only an administrator may lift it (403, and nothing of the patch applies). Audited.',
          body: settingsPatchBody,
          response: { 200: settingsResponseSchema },
        },
      },
      async (request) => (await services.settings.update(writeContext(request), request.body, { isAdministrator: request.principal!.isAdministrator })).settings,
    );
  };

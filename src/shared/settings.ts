import { z } from 'zod';

/** Instance-local settings: never tracked, never synced. */
export const settingsSchema = z.strictObject({
  configTracking: z.boolean().describe('Config change tracking: capture a change for every tracked write.'),
  disableConfigEditing: z
    .boolean()
    .describe('Disable editing of config-tracked entities (the production lock); changes arriving by sync still apply.'),
  refusePushes: z.boolean().describe('Do not allow config changes from other instances to be pushed here (pull-only).'),
  skipDiffCheck: z.boolean().describe("Don't check diffs when getting changes to sync: sync everything since the last sync."),
  useThirdPartyIds: z
    .boolean()
    .describe('Use third-party ids for linking agents, users, roles, teams and CABs to change-tracked entities.'),
  trackServices: z.boolean().describe('Enable config change tracking for services (assets marked as services or business applications).'),
  trackReportsAndDashboards: z.boolean().describe('Enable config change tracking for reports and dashboards.'),
  trackMailboxes: z.boolean().describe('Enable config change tracking for mailboxes (and per-instance mailbox credentials).'),
});

export type Settings = z.infer<typeof settingsSchema>;
export type SettingKey = keyof Settings;

export const defaultSettings: Settings = {
  configTracking: true,
  disableConfigEditing: false,
  refusePushes: false,
  skipDiffCheck: false,
  useThirdPartyIds: false,
  trackServices: false,
  trackReportsAndDashboards: false,
  trackMailboxes: false,
};

export const settingsPatchSchema = settingsSchema.partial();

import type { AuditLog } from '../access/audit-log.js';
import type { WriteContext } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { defaultSettings, settingsPatchSchema, type Settings } from '../shared/settings.js';
import { parseOrThrow } from '../shared/validation.js';
import type { Stores, Transactor } from '../store/ports.js';

/** Stored settings over the defaults; keys no longer known are ignored. */
export async function readSettings(stores: Stores): Promise<Settings> {
  const stored = await stores.settings.all();
  const settings: Settings = { ...defaultSettings };
  for (const key of Object.keys(defaultSettings) as (keyof Settings)[]) {
    if (typeof stored[key] === 'boolean') settings[key] = stored[key];
  }
  return settings;
}

export interface SettingsService {
  get(): Promise<Settings>;
  /**
   * Applies a partial update and audits each setting that changed. Lifting the production lock is for
   * administrators only; it stays lifted until someone turns it back on.
   */
  update(ctx: WriteContext, patch: unknown, caller: { isAdministrator: boolean }): Promise<{ settings: Settings; changed: (keyof Settings)[] }>;
}

export function createSettingsService(deps: { db: Transactor; clock: Clock; audit: AuditLog }): SettingsService {
  return {
    get: () => deps.db.read(readSettings),
    async update(ctx, patch, caller) {
      const values = parseOrThrow(settingsPatchSchema, patch, 'settings update');
      const result = await deps.db.write(async (stores) => {
        const current = await readSettings(stores);
        if (current.disableConfigEditing && values.disableConfigEditing === false && !caller.isAdministrator) return null;
        const changed: (keyof Settings)[] = [];
        const now = deps.clock.now();
        for (const [key, value] of Object.entries(values) as [keyof Settings, boolean][]) {
          if (current[key] === value) continue;
          await stores.settings.put(key, value, now);
          await deps.audit.recordIn(stores, {
            kind: key === 'disableConfigEditing' ? (value ? 'settings.lock-enabled' : 'settings.lock-lifted') : 'settings.changed',
            outcome: 'success',
            actor: ctx.actor,
            request: ctx.request,
            subject: key,
            details: { setting: key, from: current[key], to: value },
          });
          current[key] = value;
          changed.push(key);
        }
        return { settings: current, changed };
      });
      if (result) return result;
      // Audited on its own: nothing else of the refused request is written.
      await deps.audit.record({
        kind: 'access.denied',
        outcome: 'denied',
        actor: ctx.actor,
        request: ctx.request,
        subject: 'lift production lock',
        details: { setting: 'disableConfigEditing', permission: 'administrator' },
      });
      throw new DomainError('FORBIDDEN', 'Only an administrator can lift the production lock.', { permission: 'administrator' });
    },
  };
}

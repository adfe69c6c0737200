import type { WriteContext } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
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
  /** Applies a partial update; returns the settings after it and the keys that actually changed. */
  update(ctx: WriteContext, patch: unknown): Promise<{ settings: Settings; changed: (keyof Settings)[] }>;
}

export function createSettingsService(deps: { db: Transactor; clock: Clock }): SettingsService {
  return {
    get: () => deps.db.read(readSettings),
    async update(_ctx, patch) {
      const values = parseOrThrow(settingsPatchSchema, patch, 'settings update');
      return deps.db.write(async (stores) => {
        const current = await readSettings(stores);
        const changed: (keyof Settings)[] = [];
        const now = deps.clock.now();
        for (const [key, value] of Object.entries(values) as [keyof Settings, boolean][]) {
          if (current[key] === value) continue;
          await stores.settings.put(key, value, now);
          current[key] = value;
          changed.push(key);
        }
        return { settings: current, changed };
      });
    },
  };
}

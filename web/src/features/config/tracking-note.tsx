import { TrackingIcon } from '../../ui/tracking-icon';
import type { CatalogType } from './config-queries';

/** What happens to a save of this type: tracked, tracked under a setting, or local to this instance. */
export function TrackingNote({ type }: { type: CatalogType }) {
  if (type.tracking.kind === 'local')
    return (
      <p className="rounded border border-slate-300 bg-slate-50 px-3 py-2 text-sm text-slate-800" data-testid="tracking-note">
        <strong>Local to this instance:</strong> {type.label.toLowerCase()} are never tracked and never synced — no change is recorded, and no push, pull or
        export carries them.
      </p>
    );
  if (type.tracking.kind === 'tracked-when')
    return (
      <p className="text-sm text-slate-800" data-testid="tracking-note">
        <TrackingIcon /> Tracked when the setting <code>{type.tracking.setting}</code> is on{type.tracking.description ? ` (${type.tracking.description})` : ''}.
      </p>
    );
  return (
    <p className="text-sm" data-testid="tracking-note">
      <TrackingIcon />
    </p>
  );
}

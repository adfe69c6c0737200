/** Marks a config-tracked screen: every change here is recorded, can be rolled back and moves along the pipeline. */
export function TrackingIcon() {
  return (
    <span className="inline-flex items-center gap-1 rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-800" title="Config-tracked: every change is recorded and can be rolled back">
      <svg aria-hidden="true" viewBox="0 0 16 16" className="h-3.5 w-3.5 fill-current">
        <path d="M8 1a7 7 0 1 0 7 7h-2a5 5 0 1 1-1.46-3.54L9.5 6.5H15V1l-2.05 2.05A6.98 6.98 0 0 0 8 1Z" />
        <path d="M7 4h2v4.2l2.6 1.5-1 1.7L7 9.3Z" />
      </svg>
      Config-tracked
    </span>
  );
}

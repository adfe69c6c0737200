import { Link } from '@tanstack/react-router';
import type { ChangeDetail } from '../../api/queries';

const NODE_W = 150;
const NODE_H = 28;
const GAP = 10;

/** Why this change is needed and what needs it: the changes it requires on the left, later dependents on the right. */
export function DependencyGraph({ change }: { change: ChangeDetail }) {
  const left = change.requires.map((id) => ({ id, label: id.slice(-8) }));
  const right = change.dependents.items.map((d) => ({ id: d.id, label: `${d.entityName || d.type}`.slice(0, 20) }));
  const rows = Math.max(left.length, right.length, 1);
  const height = rows * (NODE_H + GAP) + GAP;
  const centreY = height / 2;
  const y = (i: number, count: number) => centreY - (count * (NODE_H + GAP) - GAP) / 2 + i * (NODE_H + GAP);
  const width = NODE_W * 3 + 160;
  const midX = NODE_W + 80;

  return (
    <section aria-labelledby="deps-heading" className="rounded border border-slate-200 bg-white p-3">
      <h2 id="deps-heading" className="mb-2 text-lg font-semibold">
        Dependencies
      </h2>
      <div className="grid gap-4 md:grid-cols-2">
        <div>
          <h3 className="text-sm font-medium">Requires ({change.requires.length})</h3>
          {change.requires.length === 0 ? (
            <p className="text-sm text-slate-600">Nothing: this change stands on its own.</p>
          ) : (
            <ul className="text-sm">
              {change.requires.map((id) => (
                <li key={id}>
                  <Link to="/changes/$changeId" params={{ changeId: id }} className="font-mono text-blue-800 underline">
                    {id}
                  </Link>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div>
          <h3 className="text-sm font-medium">Later changes that depend on it ({change.dependents.items.length}{change.dependents.more ? '+' : ''})</h3>
          {change.dependents.items.length === 0 ? (
            <p className="text-sm text-slate-600">None.</p>
          ) : (
            <ul className="text-sm">
              {change.dependents.items.map((d) => (
                <li key={d.id}>
                  <Link to="/changes/$changeId" params={{ changeId: d.id }} className="text-blue-800 underline">
                    {d.entityName || d.entityId}
                  </Link>{' '}
                  <span className="text-slate-600">
                    ({d.type}, {d.op})
                  </span>
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
      {(left.length > 0 || right.length > 0) && (
        <svg role="img" aria-label={`Graph: ${left.length} required, ${right.length} dependent changes`} viewBox={`0 0 ${width} ${height}`} className="mt-3 h-auto w-full max-w-2xl">
          {left.map((n, i) => (
            <g key={n.id}>
              <line x1={NODE_W} y1={y(i, left.length) + NODE_H / 2} x2={midX} y2={centreY} stroke="#667085" markerEnd="url(#arrow)" />
              <rect x={0} y={y(i, left.length)} width={NODE_W} height={NODE_H} rx={4} fill="#eef4ff" stroke="#175cd3" />
              <text x={NODE_W / 2} y={y(i, left.length) + 18} textAnchor="middle" fontSize="12" fontFamily="monospace" fill="#1d2939">
                {n.label}
              </text>
            </g>
          ))}
          {right.map((n, i) => (
            <g key={n.id}>
              <line x1={midX + NODE_W} y1={centreY} x2={width - NODE_W} y2={y(i, right.length) + NODE_H / 2} stroke="#667085" markerEnd="url(#arrow)" />
              <rect x={width - NODE_W} y={y(i, right.length)} width={NODE_W} height={NODE_H} rx={4} fill="#fef6ee" stroke="#b54708" />
              <text x={width - NODE_W / 2} y={y(i, right.length) + 18} textAnchor="middle" fontSize="12" fill="#1d2939">
                {n.label}
              </text>
            </g>
          ))}
          <rect x={midX} y={centreY - NODE_H / 2} width={NODE_W} height={NODE_H} rx={4} fill="#1e3a5f" />
          <text x={midX + NODE_W / 2} y={centreY + 4} textAnchor="middle" fontSize="12" fill="#fff">
            {(change.entityName || change.type).slice(0, 20)}
          </text>
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
              <path d="M0 0 10 5 0 10z" fill="#667085" />
            </marker>
          </defs>
        </svg>
      )}
    </section>
  );
}

/** `30s`, `15m`, `6h`, `1d` in milliseconds; null for anything else (or less than a second). */
export function parseDuration(text: string): number | null {
  const match = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!match) return null;
  const ms = Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return ms >= 1000 && Number.isSafeInteger(ms) ? ms : null;
}

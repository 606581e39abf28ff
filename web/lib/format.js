// Number and time formatting shared by the dashboard's pages.

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

/** 1234567 -> "1,234,567"; null/undefined -> "—". */
export function formatInt(n) {
  return n == null || !Number.isFinite(n) ? '—' : integer.format(n);
}

/** 1234567 -> "1.2M" (axis labels). */
export function formatCompact(n) {
  return n == null || !Number.isFinite(n) ? '' : compact.format(n);
}

/** Share as a percentage with one decimal: 0.1234 -> "12.3%". */
export function formatShare(part, whole) {
  if (!whole) return '—';
  return `${((100 * part) / whole).toFixed(1)}%`;
}

/** Seconds of lag: 0.123 -> "0.12 s", 75 -> "1m 15s". */
export function formatSeconds(s) {
  if (s == null || !Number.isFinite(s)) return '—';
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m ${Math.round(s % 60)}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** ms since the epoch -> "14:03:27 UTC". */
export function formatClock(ms) {
  if (!ms) return '—';
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

/** Signed change with a thousands separator: +1,204 / −87 / ±0. */
export function formatDelta(d) {
  if (d == null || !Number.isFinite(d)) return '—';
  if (d === 0) return '±0';
  return `${d > 0 ? '+' : '−'}${integer.format(Math.abs(d))}`;
}

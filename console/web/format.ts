/** Formatting shared by the pages. */
import type { Property, Twin, TwinValue } from './api.js';

export function formatValue(v: TwinValue | undefined, p?: Property): string {
  if (v === undefined) return '–';
  if (typeof v === 'number') {
    const s = Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 10 ? 2 : 1).replace(/0$/, '');
    return p?.unit ? `${s} ${p.unit}` : s;
  }
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  return v;
}

export function ago(ms: number | undefined, now = Date.now()): string {
  if (ms === undefined) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toLocaleString();
}

/** When the device last said something: its last report, or when it was last online. */
export function lastSeen(t: Twin | undefined): number | undefined {
  if (!t) return undefined;
  let last = t.lastOnline;
  for (const r of Object.values(t.reported)) if (last === undefined || r.updatedAt > last) last = r.updatedAt;
  return last;
}

export const isNumeric = (p: Property) => ['INT', 'FLOAT', 'DOUBLE'].includes(p.type.toUpperCase());

/** Failed writes of a twin (when the twin carries write status). */
export function failedWrites(t: Twin | undefined): string[] {
  if (!t) return [];
  return Object.entries(t.desired)
    .filter(([, d]) => d.write?.status === 'failed')
    .map(([p]) => p);
}

export const healthy = (state: string) => state === 'online' || state === 'ok';

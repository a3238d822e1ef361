/** Reads history at a chosen resolution: stored buckets folded into steps of `step` ms. */
import { EdgeTwinError } from '@edgetwin/sdk';
import type { HistoryStore } from './history-store.js';

export interface HistoryPoint {
  /** Start of the step, ms since epoch. */
  t: number;
  min: number;
  max: number;
  avg: number;
  /** The last value reported in the step. */
  last: number;
  /** Values reported in the step. */
  count: number;
}

/** At most this many steps per answer. */
export const MAX_HISTORY_STEPS = 5000;

export interface HistoryQuery {
  from: number;
  to: number;
  /** Step in ms; default: the range in 300 steps, at least the fine bucket. */
  step?: number | undefined;
}

export function queryHistory(store: HistoryStore, device: string, prop: string, q: HistoryQuery): HistoryPoint[] {
  const { from, to } = q;
  if (!(to > from)) {
    throw new EdgeTwinError('ET_BAD_VALUE', `history range from=${from} to=${to} is empty; "to" must be after "from"`);
  }
  const step = q.step ?? Math.max(store.layout.fineMs, Math.ceil((to - from) / 300));
  if ((to - from) / step > MAX_HISTORY_STEPS) {
    throw new EdgeTwinError(
      'ET_BAD_VALUE',
      `step=${step} ms gives more than ${MAX_HISTORY_STEPS} steps over this range; use a step of at least ${Math.ceil((to - from) / MAX_HISTORY_STEPS)} ms`,
    );
  }
  const out: HistoryPoint[] = [];
  let cur: (HistoryPoint & { sum: number }) | undefined;
  for (const b of store.buckets(device, prop, from, to)) {
    const t = from + Math.floor((b.t - from) / step) * step;
    if (cur && cur.t === t) {
      cur.min = Math.min(cur.min, b.min);
      cur.max = Math.max(cur.max, b.max);
      cur.sum += b.sum;
      cur.count += b.n;
      cur.last = b.last;
      continue;
    }
    if (cur) out.push(finish(cur));
    cur = { t, min: b.min, max: b.max, sum: b.sum, count: b.n, last: b.last, avg: 0 };
  }
  if (cur) out.push(finish(cur));
  return out;
}

function finish(p: HistoryPoint & { sum: number }): HistoryPoint {
  return { t: p.t, min: p.min, max: p.max, avg: p.sum / p.count, last: p.last, count: p.count };
}

/**
 * History of reported values over a simulated day (fake clock): retention, downsampling bounds
 * and the HTTP history API.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { FakeClock } from '@edgetwin/sdk/testing';
import {
  createHttpApi,
  HistoryRecorder,
  HistoryStore,
  MetricsRegistry,
  openTwinStore,
  TwinService,
  type TwinStore,
} from '@edgetwin/device-twin';
import { device, logger, model, removeDir, resolveAll } from './fixtures.js';

const HOUR = 3_600_000;
const start = Date.UTC(2026, 0, 1);
const clock = new FakeClock(start);
const dir = mkdtempSync(join(tmpdir(), 'edgetwin-history-'));
let twinStore: TwinStore;
let twin: TwinService;
let history: HistoryStore;
let recorder: HistoryRecorder;
let app: FastifyInstance;
let base: string;

/** The temperature reported at time t: the minute of the hour (0..59), so each hour spans 0..59. */
const temperatureAt = (t: number) => Math.floor((t % HOUR) / 60_000);

beforeAll(async () => {
  twinStore = openTwinStore({ file: join(dir, 'twin.db') });
  twin = new TwinService({ store: twinStore, logger, nodeName: 'edge-1', clock });
  await twin.start();
  twin.applyResources(resolveAll([model('thermostat')], [device('t1')]));
  history = new HistoryStore({ file: join(dir, 'history.db'), layout: { maxEvents: 10 } });
  recorder = new HistoryRecorder({ twin, store: history, logger, clock });
  recorder.start();
  // 26 simulated hours, a report every 20 s (temperature and power), a desired change every hour.
  for (let t = start; t < start + 26 * HOUR; t += 20_000) {
    const reports = twin.report('default/t1', {
      temperature: { value: temperatureAt(t) },
      power: { value: Math.floor(t / 60_000) % 2 === 0 },
    });
    if ((t - start) % HOUR === 0)
      await twin.setDesired('default/t1', { setpoint: 5 + (((t - start) / HOUR) % 20) }, { source: 'http' });
    await reports;
    clock.advance(20_000);
  }
  recorder.flush(true);
  app = await createHttpApi({ twin, logger, metrics: new MetricsRegistry(), history });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/api/v1`;
}, 120_000);

afterAll(async () => {
  await app?.close();
  recorder?.stop();
  history?.close();
  await twin?.stop();
  twinStore?.close();
  removeDir(dir);
});

describe('history over a simulated day', () => {
  it('keeps fine buckets for the last hour only and one coarse bucket per minute up to the retention', () => {
    const s = history.stats();
    const { fineMs, windowMs, coarseMs, retentionMs } = history.layout;
    const series = 2; // temperature and power
    // Compaction runs every minute: at most one compaction interval more than the window stays fine.
    expect(s.fine).toBeLessThanOrEqual(series * Math.ceil((windowMs + 2 * coarseMs) / 20_000));
    expect(s.fine).toBeLessThanOrEqual(series * ((windowMs + 2 * coarseMs) / fineMs));
    expect(s.coarse).toBeLessThanOrEqual(series * (retentionMs / coarseMs + 2));
    expect(s.coarse).toBeGreaterThan((series * (retentionMs - windowMs - 2 * coarseMs)) / coarseMs);
    const perValue = s.bytes / (s.fine + s.coarse);
    console.log(
      `history: ${s.fine} fine + ${s.coarse} coarse rows, ${s.events} events, ${s.bytes} bytes (${perValue.toFixed(0)} B per stored bucket incl. events)`,
    );
    expect(perValue).toBeLessThan(200);
  });

  it('forgets values older than the retention', () => {
    const now = clock.now();
    expect(history.buckets('default/t1', 'temperature', start, now - 24 * HOUR - 2 * 60_000)).toEqual([]);
    expect(history.buckets('default/t1', 'temperature', now - 23 * HOUR, now).length).toBeGreaterThan(0);
  });

  it('answers min, max, avg and last per hour over the day, from coarse and fine buckets alike', async () => {
    const to = clock.now() - (clock.now() % HOUR);
    const res = await fetch(
      `${base}/devices/default/t1/properties/temperature/history?from=${to - 23 * HOUR}&to=${to}&step=${HOUR}`,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      step: number;
      points: { t: number; min: number; max: number; avg: number; last: number; count: number }[];
    };
    expect(body.points).toHaveLength(23);
    for (const p of body.points) {
      expect(p).toMatchObject({ min: 0, max: 59, last: 59, count: 180 });
      expect(p.avg).toBeCloseTo(29.5, 5);
    }
  });

  it('gives booleans as 0/1, and the last hour at full resolution', async () => {
    const to = clock.now();
    const res = await fetch(
      `${base}/devices/default/t1/properties/power/history?from=${to - 10 * 60_000}&to=${to}&step=20000`,
    );
    const body = (await res.json()) as { points: { t: number; min: number; max: number; count: number }[] };
    // every report is kept (one each 20 s) in the fine window
    expect(body.points).toHaveLength(30);
    expect(new Set(body.points.map((p) => p.max))).toEqual(new Set([0, 1]));
    expect(body.points.every((p) => p.count === 1)).toBe(true);
  });

  it('keeps desired changes as events, at most maxEvents of them', async () => {
    const res = await fetch(`${base}/devices/default/t1/history/events?from=${start}&to=${clock.now()}`);
    const body = (await res.json()) as {
      items: { property: string; kind: string; detail: { value?: unknown; source?: string } }[];
    };
    const desired = body.items.filter((e) => e.kind === 'desired');
    // trimmed to 10 at each compaction (every minute); at most one desired change an hour comes between
    expect(desired.length).toBeGreaterThanOrEqual(10);
    expect(body.items.length).toBeLessThanOrEqual(11);
    expect(desired.at(-1)).toMatchObject({ property: 'setpoint', detail: { source: 'http', value: 5 + (25 % 20) } });
  });

  it('refuses a step that would give too many points, and an unknown property, as problems', async () => {
    const to = clock.now();
    const tooFine = await fetch(
      `${base}/devices/default/t1/properties/temperature/history?from=${to - 24 * HOUR}&to=${to}&step=1`,
    );
    expect(tooFine.status).toBe(422);
    expect(((await tooFine.json()) as { code: string; detail: string }).detail).toMatch(/use a step of at least/);
    const unknown = await fetch(`${base}/devices/default/t1/properties/nope/history`);
    expect(unknown.status).toBe(404);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/api/v1/devices/{ns}/{name}/properties/{p}/history');
  });
});

/**
 * npm run bench:history: what recording the history costs the twin, measured in one process as a
 * ratio against a control in the same run (so machine contention distorts it little): a
 * TwinService on a fresh SQLite file takes `--reports` reported values (1,000 devices x 10 FLOAT
 * properties, batches of 5,000 awaited like MQTT's group commit), alternately without and with a
 * HistoryRecorder (its flush and compaction run on their timers meanwhile, plus a final flush),
 * `--rounds` times each. Prints this process's CPU time per report (process.cpuUsage) per round
 * and the median ratio.
 *
 *   npm run bench:history -- [--reports 200000] [--rounds 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { API_VERSION, modelKey, resolveDevice, type Device, type DeviceModel } from '@edgetwin/sdk';
import { HistoryRecorder, HistoryStore, openTwinStore, TwinService } from '@edgetwin/device-twin';

const { values: args } = parseArgs({
  options: { reports: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '3' } },
});
const DEVICES = 1000;
const PROPS = Array.from({ length: 10 }, (_, i) => `p${i}`);
const logger = pino({ level: 'warn' });

const model: DeviceModel = {
  apiVersion: API_VERSION,
  kind: 'DeviceModel',
  metadata: { name: 'm', namespace: 'default' },
  spec: { protocol: 'bench', properties: PROPS.map((name) => ({ name, type: 'FLOAT', accessMode: 'ReadOnly' })) },
};
const devices: Device[] = Array.from({ length: DEVICES }, (_, i) => ({
  apiVersion: API_VERSION,
  kind: 'Device',
  metadata: { name: `d${i}`, namespace: 'default' },
  spec: { deviceModelRef: { name: 'm' }, nodeName: 'bench', properties: PROPS.map((name) => ({ name })) },
}));

async function round(history: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'edgetwin-history-bench-'));
  const store = openTwinStore({ file: join(dir, 'twin.db') });
  const twin = new TwinService({ store, logger, nodeName: 'bench' });
  await twin.start();
  const models = new Map([[modelKey('default', 'm'), model]]);
  twin.applyResources({ models: [model], devices: devices.map((d) => resolveDevice(d, models)) });
  const hs = history ? new HistoryStore({ file: join(dir, 'history.db') }) : undefined;
  const recorder = hs && new HistoryRecorder({ twin, store: hs, logger });
  recorder?.start();
  const total = Number(args.reports);
  const t0 = process.cpuUsage();
  for (let n = 0; n < total;) {
    const batch: Promise<unknown>[] = [];
    for (let k = 0; k < 5000 && n < total; k++, n++) {
      const d = n % DEVICES;
      const p = PROPS[Math.floor(n / DEVICES) % PROPS.length]!;
      batch.push(twin.report(`default/d${d}`, { [p]: { value: (n % 1000) / 10 } }));
    }
    await Promise.all(batch);
  }
  recorder?.stop();
  const used = process.cpuUsage(t0);
  await twin.stop();
  store.close();
  hs?.close();
  rmSync(dir, { recursive: true, force: true });
  return (used.user + used.system) / total;
}

async function main(): Promise<void> {
  const ratios: number[] = [];
  console.log(`history bench: ${args.reports} reports per round, ${DEVICES} devices x ${PROPS.length} properties`);
  for (let i = 0; i < Number(args.rounds); i++) {
    const off = await round(false);
    const on = await round(true);
    ratios.push(on / off);
    console.log(
      `  round ${i + 1}: without history ${off.toFixed(1)} µs CPU per report, with ${on.toFixed(1)} µs (x${(on / off).toFixed(3)}), load average ${loadavg()[0]!.toFixed(1)}`,
    );
  }
  ratios.sort((a, b) => a - b);
  console.log(`  median ratio with/without history: x${ratios[Math.floor(ratios.length / 2)]!.toFixed(3)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

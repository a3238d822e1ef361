/**
 * Twin benchmark: a TwinService + TwinMqttHandler on a Mosquitto broker with 1,000 devices x 10
 * INT/FLOAT properties; simulated mappers (a child process) publish reported values over MQTT
 * QoS 1. Prints reported updates committed to SQLite per second, publish -> twin/update/result
 * latency (p50/p99) and this process's RSS.
 *
 *   npm run bench:twin -- [--devices 1000] [--props 10] [--rate 10000 | --window 50] [--seconds 10] [--mappers 10]
 *                         [--broker mqtt://host:port] [--data-qos 0|1] [--tune-heap true|false] [--mapper-nodelay]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import {
  API_VERSION,
  modelKey,
  resolveDevice,
  type Device,
  type DeviceModel,
  type ResolvedDevice,
} from '@edgetwin/sdk';
import { startMosquitto } from '@edgetwin/sdk/testing';
import { tuneHeapForEdge } from '../heap.js';
import { openTwinStore } from '../store/twin-store.js';
import { TwinService } from '../engine/twin-service.js';
import { TwinMqttHandler } from '../mqtt/twin-mqtt-handler.js';
import { runLoad, type LoadConfig, type LoadResult } from './load.js';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    props: { type: 'string', default: '10' },
    rate: { type: 'string', default: '10000' },
    window: { type: 'string', default: '0' },
    seconds: { type: 'string', default: '10' },
    mappers: { type: 'string', default: '10' },
    load: { type: 'string' },
    broker: { type: 'string' },
    'data-qos': { type: 'string', default: '1' },
    'tune-heap': { type: 'string', default: 'true' },
    'mapper-nodelay': { type: 'boolean', default: false },
  },
});

if (args.load !== undefined) {
  // Child process: run the load and send the result back.
  const cfg = JSON.parse(args.load) as LoadConfig;
  const result = await runLoad(cfg);
  process.send!(result, () => process.exit(0));
} else {
  await main();
}

function resources(
  devices: number,
  props: number,
  mappers: number,
): { models: DeviceModel[]; devices: ResolvedDevice[]; names: string[] } {
  const names = Array.from({ length: props }, (_, i) => `p${i}`);
  const models: DeviceModel[] = [];
  const out: ResolvedDevice[] = [];
  for (let k = 0; k < mappers; k++) {
    const ns = `m${k}`;
    const model: DeviceModel = {
      apiVersion: API_VERSION,
      kind: 'DeviceModel',
      metadata: { name: 'bench', namespace: ns },
      spec: {
        protocol: 'bench',
        properties: names.map((n, i) => ({ name: n, type: i % 2 ? 'FLOAT' : 'INT', accessMode: 'ReadWrite' })),
      },
    };
    models.push(model);
    const byKey = new Map([[modelKey(ns, 'bench'), model]]);
    for (let d = 0; d < devices / mappers; d++) {
      const dev: Device = {
        apiVersion: API_VERSION,
        kind: 'Device',
        metadata: { name: `dev-${d}`, namespace: ns },
        spec: {
          deviceModelRef: { name: 'bench' },
          nodeName: 'bench-node',
          properties: names.map((n) => ({ name: n })),
        },
      };
      out.push(resolveDevice(dev, byKey));
    }
  }
  return { models, devices: out, names };
}

/** Heap in use after a full GC (the flag is set at run time, so `npm run bench:twin` needs no node flags). */
function liveHeapMb(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  return process.memoryUsage().heapUsed / 1048576;
}

/** Upper bucket bounds (ms) below which the quantiles `qs` of a rendered histogram fall. */
function histogramQuantiles(text: string, name: string, qs: number[]): string[] {
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, 'gm'))].map((m) => ({
    le: m[1] === '+Inf' ? Infinity : Number(m[1]) * 1000,
    n: Number(m[2]),
  }));
  const total = buckets.at(-1)?.n ?? 0;
  return qs.map((q) => {
    const b = buckets.find((x) => x.n >= q * total);
    return b === undefined || total === 0 ? '?' : String(b.le);
  });
}

async function main(): Promise<void> {
  // As edgecore does first thing (see src/heap.ts); `--tune-heap false` measures without it.
  if (args['tune-heap'] !== 'false') tuneHeapForEdge();
  const devices = Number(args.devices);
  const props = Number(args.props);
  const rate = Number(args.rate);
  const window = Number(args.window);
  const seconds = Number(args.seconds);
  const mappers = Number(args.mappers);
  const logger = pino({ level: 'warn' });
  const dir = mkdtempSync(join(tmpdir(), 'edgetwin-bench-'));
  const broker = args.broker ? { url: args.broker, stop: () => Promise.resolve() } : await startMosquitto();
  const store = openTwinStore({ file: join(dir, 'twin.db') });
  const twin = new TwinService({ store, logger, nodeName: 'bench-node' });
  await twin.start();
  const res = resources(devices, props, mappers);
  twin.applyResources({ models: res.models, devices: res.devices });
  // A no-op log skips mqtt.js's per-packet debug() calls (worth a few percent of CPU).
  const client = await connectAsync(broker.url, { clientId: 'bench-edgecore', reconnectPeriod: 0, log: () => {} });
  const handler = new TwinMqttHandler({
    twin,
    client,
    nodeName: 'bench-node',
    logger,
    dataQos: args['data-qos'] === '0' ? 0 : 1,
  });
  await handler.start();

  await new Promise((r) => setTimeout(r, 1000)); // let the retained start-up publishes settle
  const live = liveHeapMb();
  console.log(
    `  after setup            RSS ${(process.memoryUsage.rss() / 1048576).toFixed(1)} MB, live heap ${live.toFixed(1)} MB (${devices} devices, ${devices * props} properties)`,
  );
  let maxRss = process.memoryUsage.rss();
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, process.memoryUsage.rss())), 200);
  let lastCommitted = 0;
  const progress = setInterval(() => {
    const c = committed();
    console.log(
      `  ... ${c - lastCommitted} committed in the last second, RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB, heap ${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} MB`,
    );
    lastCommitted = c;
    const text = twin.metrics.render();
    const g = (name: string) => new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? '?';
    console.log(
      `      in flight ${g('edgetwin_mqtt_requests_in_flight')}, unacked publishes ${g('edgetwin_mqtt_unacked_publishes')}, queue ${g('edgetwin_twin_queue_depth')}`,
    );
  }, 1000);
  const committed = () => {
    const m = /edgetwin_twin_updates_committed_total\{kind="reported"\} (\d+)/.exec(twin.metrics.render());
    return m ? Number(m[1]) : 0;
  };
  const cfg: LoadConfig = {
    url: broker.url,
    mappers,
    devicesPerMapper: devices / mappers,
    props: res.names,
    rate,
    window,
    seconds,
    noDelay: args['mapper-nodelay'],
  };
  const mode = window > 0 ? `${window} outstanding reports per mapper` : `${rate} reports/s`;
  console.log(
    `twin bench: ${devices} devices x ${props} properties, ${mappers} mappers, ${mode} for ${seconds} s, broker ${broker.url}`,
  );
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const c0 = committed();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const child = fork(fileURLToPath(import.meta.url), ['--load', JSON.stringify(cfg)], { stdio: 'inherit' });
  const result = await new Promise<LoadResult>((resolve, reject) => {
    child.once('message', (m) => resolve(m as LoadResult));
    child.once('exit', (code) => reject(new Error(`load process exited with ${code}`)));
  });
  const elapsed = (performance.now() - t0) / 1000;
  const c1 = committed();
  clearInterval(sampler);
  clearInterval(progress);
  const rssNow = process.memoryUsage.rss();
  const cpu = process.cpuUsage(cpu0);

  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  console.log(
    `  reports sent           ${result.sent} in ${result.seconds.toFixed(2)} s (${Math.round(result.sent / result.seconds)}/s offered)`,
  );
  console.log(
    `  reports committed      ${c1 - c0}; sustained ${Math.round(result.answered / result.untilLastAnswer)}/s (answered / time from first publish to last result, ${result.untilLastAnswer.toFixed(1)} s; ${elapsed.toFixed(1)} s with process start)`,
  );
  console.log(`  results answered       ${result.answered}, errors ${result.errors}, unanswered ${result.lost}`);
  console.log(
    `  publish->result        p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, max ${result.max.toFixed(1)} ms`,
  );
  console.log(
    `    after the 1st second p50 ${result.steadyP50.toFixed(1)} ms, p99 ${result.steadyP99.toFixed(1)} ms (reports sent after JIT warm-up)`,
  );
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(
    `  twin process CPU       ${(cpuMs / 1000).toFixed(2)} s = ${((cpuMs * 1000) / Math.max(1, c1 - c0)).toFixed(0)} µs per committed report (load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)`,
  );
  console.log(`  twin process RSS       ${mb(rssNow)} now, ${mb(maxRss)} peak`);
  const mu = process.memoryUsage();
  console.log(
    `  (heap ${mb(mu.heapUsed)} used of ${mb(mu.heapTotal)}, external ${mb(mu.external)}; live heap after GC ${liveHeapMb().toFixed(1)} MB)`,
  );
  loopDelay.disable();
  const twinSide = histogramQuantiles(twin.metrics.render(), 'edgetwin_mqtt_request_seconds', [0.5, 0.99]);
  console.log(
    `  twin-side request time p50 <= ${twinSide[0]} ms, p99 <= ${twinSide[1]} ms (receive -> result published, histogram buckets)`,
  );
  const ms = (ns: number) => (ns / 1e6).toFixed(1);
  console.log(
    `  twin event loop delay  p50 ${ms(loopDelay.percentile(50))} ms, p99 ${ms(loopDelay.percentile(99))} ms, max ${ms(loopDelay.max)} ms`,
  );
  const spaces = getHeapSpaceStatistics()
    .filter((sp) => sp.space_size > 0)
    .map((sp) => `${sp.space_name.replace('_space', '')} ${mb(sp.space_size)}`);
  console.log(`  V8 heap spaces         ${spaces.join(', ')}`);
  const commits = /edgetwin_twin_commits_total (\d+)/.exec(twin.metrics.render());
  if (commits)
    console.log(
      `  SQLite transactions    ${commits[1]} (${((c1 - c0) / Number(commits[1])).toFixed(1)} updates per commit on average)`,
    );

  await handler.stop();
  await client.endAsync();
  await twin.stop();
  store.close();
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
}

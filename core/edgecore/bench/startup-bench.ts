/**
 * npm run bench:startup: start to ready. Writes 1,000 Devices x 10 properties as YAML (the same
 * as bench:twin), starts Mosquitto, subscribes to the twin/get results, then starts the real
 * edgecore process and sends a twin/get for the last device every 10 ms: the figure is the time
 * from spawning the process to that first answer carrying the twin (error answers, "no such device"
 * while the devices are still loading, do not count), then to every device having answered one,
 * and to the HTTP API's /readyz answering 200 (edgecore loads its HTTP stack after its devices are
 * in, so HTTP comes later than MQTT). Each run waits for that before stopping edgecore, so a
 * `--cpu-prof` profile covers the whole start (a process stopped before its signal handlers are
 * installed writes none). Repeated `--runs` times (fresh data directory each time) and printed with
 * the load average, and edgecore's RSS 2 s after HTTP is ready (after its start-up GC: the memory a
 * start leaves behind, which start-up speed must not be bought with).
 *
 *   npm run bench:startup -- [--runs 3] [--devices 1000] [--props 10] [--node-flags="--cpu-prof --cpu-prof-dir=prof"]
 *                           [--compare-bin OTHER/core/bin/edgetwin.js]
 *
 * (`--node-flags` takes its value after `=`: a separate value starting with `--` is refused.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connectAsync } from 'mqtt';
import { LEAN_MQTT_OPTIONS } from './lean-mqtt.js';
import { freePort, startMosquitto } from '@edgetwin/sdk/testing';
import { devicesYaml } from './bench-devices.js';

const EDGETWIN_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'edgetwin.js');

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    devices: { type: 'string', default: '1000' },
    props: { type: 'string', default: '10' },
    'node-flags': { type: 'string', default: '' },
    // Another build's CLI (e.g. a worktree of an older commit): runs alternate between the two,
    // so both are measured under the same load.
    'compare-bin': { type: 'string' },
  },
});

const mappers = 10;
const devices = Number(args.devices);
const props = Array.from({ length: Number(args.props) }, (_, i) => `p${i}`);

interface RunResult {
  last: number;
  all: number;
  http: number;
  rssMiB: number;
  errorAnswers: number;
}

/** Polls GET /readyz until it answers 200; the time since t0. */
async function httpReady(port: number, t0: number): Promise<number> {
  for (;;) {
    if (performance.now() - t0 > 60_000) throw new Error('the HTTP API did not answer /readyz with 200 within 60 s');
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function oneRun(brokerUrl: string, dir: string, bin: string): Promise<RunResult> {
  const client = await connectAsync(brokerUrl, { clientId: `startup-bench-${process.pid}`, ...LEAN_MQTT_OPTIONS });
  const answered = new Set<string>();
  const firstAnswer = new Map<string, number>();
  let errorAnswers = 0;
  client.on('message', (topic, payload) => {
    // An answer with a `code` is an error ("no such device" while the devices are still loading):
    // only an answer carrying the device's twin counts as ready.
    if ((JSON.parse(payload.toString('utf8')) as { code?: number }).code !== undefined) {
      errorAnswers++;
      return;
    }
    const dev = topic.split('/').slice(3, 5).join('/');
    if (!firstAnswer.has(dev)) firstAnswer.set(dev, performance.now());
    answered.add(dev);
  });
  await client.subscribeAsync('$hw/events/device/+/+/twin/get/result', { qos: 0 });
  const lastDev = `m${mappers - 1}/dev-${devices / mappers - 1}`;
  const httpPort = await freePort();
  const t0 = performance.now();
  const edgecore = spawn(
    process.execPath,
    [
      ...args['node-flags'].split(' ').filter(Boolean),
      bin,
      'edge',
      '--devices',
      join(dir, 'devices'),
      '--data-dir',
      join(dir, `data-${Math.random().toString(36).slice(2)}`),
      '--node-name',
      'bench-node',
      '--http-port',
      String(httpPort),
      '--no-mappers',
      '--log-level',
      'warn',
      '--mqtt-url',
      brokerUrl,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  try {
    while (!firstAnswer.has(lastDev)) {
      if (performance.now() - t0 > 60_000) throw new Error('no twin/get answer for the last device within 60 s');
      client.publish(`$hw/events/device/${lastDev}/twin/get`, '{"event_id":"startup"}', { qos: 0 });
      await new Promise((r) => setTimeout(r, 10));
    }
    const last = firstAnswer.get(lastDev)! - t0;
    for (let k = 0; k < mappers; k++) {
      for (let d = 0; d < devices / mappers; d++) {
        client.publish(`$hw/events/device/m${k}/dev-${d}/twin/get`, '{"event_id":"all"}', { qos: 0 });
      }
    }
    while (answered.size < devices) {
      if (performance.now() - t0 > 60_000) throw new Error(`only ${answered.size} devices answered within 60 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const all = Math.max(...firstAnswer.values()) - t0;
    const http = await httpReady(httpPort, t0);
    // edgecore collects its start-up garbage once the start-up publishes are acknowledged
    // (settleHeap); its RSS a second after that is the memory a start leaves behind.
    await new Promise((r) => setTimeout(r, 2000));
    const rssMiB = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${edgecore.pid}/status`, 'utf8'))?.[1]) / 1024;
    return { last, all, http, rssMiB, errorAnswers };
  } finally {
    edgecore.kill('SIGTERM');
    await new Promise((r) => edgecore.once('exit', r));
    await client.endAsync();
  }
}

// The build bundles TypeBox into one module (sdk/scripts/bundle-typebox.mjs); a `tsc -b` that
// emitted sdk/src/typebox.ts again leaves the ~250-file version, about 0.1 s slower to start.
const typebox = readFileSync(fileURLToPath(import.meta.resolve('@edgetwin/sdk/typebox')), 'utf8');
if (!typebox.startsWith('// @edgetwin/sdk: TypeBox bundled'))
  console.log(
    'warning: TypeBox is not bundled (sdk/dist/typebox.js); run "npm run build" for the start-up of a real install',
  );

const dir = mkdtempSync(join(tmpdir(), 'edgetwin-startup-'));
mkdirSync(join(dir, 'devices'));
writeFileSync(join(dir, 'devices', 'bench.yaml'), devicesYaml(devices, props, mappers));
const mosquitto = await startMosquitto();
try {
  console.log(
    `startup bench: ${devices} devices x ${props.length} properties, Mosquitto ${mosquitto.url}, ${process.version}, ${availableParallelism()} cores`,
  );
  const bins = [EDGETWIN_BIN, ...(args['compare-bin'] ? [args['compare-bin']] : [])];
  const lasts = bins.map((): number[] => []);
  for (let i = 0; i < Number(args.runs); i++) {
    for (const [b, bin] of bins.entries()) {
      const load = loadavg()[0]!.toFixed(1);
      const r = await oneRun(mosquitto.url, dir, bin);
      lasts[b]!.push(r.last);
      console.log(
        `  run ${i + 1}${bins.length > 1 ? ` (${bin})` : ''}: process start -> last device's first twin/get answer ${Math.round(r.last)} ms; every device answered by ${Math.round(r.all)} ms; HTTP /readyz 200 at ${Math.round(r.http)} ms; RSS 2 s later ${r.rssMiB.toFixed(1)} MiB; ${r.errorAnswers} earlier error answers (devices not loaded yet) not counted (load average ${load})`,
      );
    }
  }
  for (const [b, bin] of bins.entries()) {
    const l = lasts[b]!;
    console.log(
      `  start to ready${bins.length > 1 ? ` (${bin})` : ''}: ${Math.round(Math.min(...l))}-${Math.round(Math.max(...l))} ms over ${l.length} runs (target < 500 ms)`,
    );
  }
} finally {
  await mosquitto.stop();
  rmSync(dir, { recursive: true, force: true });
}

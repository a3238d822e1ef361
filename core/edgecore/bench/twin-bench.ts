/**
 * npm run bench:twin: the real edgecore process (`edgetwin edge`, started exactly as a user starts
 * it) with 1,000 devices of 10 INT/FLOAT properties from a YAML file, and simulated mappers (a
 * child process, one MQTT connection per namespace) publishing reported values as `$hw`
 * twin/update requests at QoS 1. Prints reported updates committed to SQLite per second (from
 * edgecore's /metrics), publish -> twin/update/result latency (p50/p99), and edgecore's RSS and
 * CPU read from /proc (so the figures are that process's alone: no load generator, no broker).
 *
 *   npm run bench:twin -- [--devices 1000] [--props 10] [--rate 10000 | --window 50] [--seconds 10] [--warmup 3]
 *                         [--mappers 10] [--broker mosquitto|embedded|mqtt://host:port] [--mqtt-auth on|off]
 *                         [--node-flags "--cpu-prof ..."] [--edge-flags "--history-retention 0"]
 *                         [--overload [--seconds 60]] [--path mqtt|dmi|both] [--generator peer|sdk] [--twins 1] [--pin]
 *
 * Exits with status 1, saying so on its last line, when reports went unanswered.
 * --overload: capacity closed loop, then 2x and 4x of it open loop (twin-overload.ts); Mosquitto
 * then runs with its default `max_queued_messages 1000`, so the backlog it keeps for edgecore is
 * bounded and what exceeds it is shed (never acknowledged by edgecore, so never answered).
 *
 * --path: how the simulated mappers report. mqtt (default): `$hw` twin/update over the broker. dmi:
 * ReportDeviceStatus calls on edgecore's DMI socket, as KubeEdge mapper-framework mappers (and the
 * sdk's mapper runtime) report (twin-load-dmi.ts). both: the MQTT run, then the DMI run, against
 * the same edgecore, one after the other, printed side by side. --overload takes mqtt or dmi.
 *
 * --generator: the simulated mappers' client. peer (default, as the README's figures were measured):
 * an independent implementation, mqtt.js for MQTT and @grpc/grpc-js for DMI. sdk: the sdk's own
 * clients (edgecore's MQTT client, the mapper runtime's DMI client), which use less CPU per report,
 * so at several times edgecore's capacity the load leaves more of the shared cores to edgecore.
 *
 * --twins N: each report carries N properties of one device (one twin/update with N twins, one
 * ReportDeviceStatus with N twins), as mappers that report a whole device per collect cycle send
 * them; the sdk runtime does, and so do KubeEdge's mapper-framework mappers. Default 1.
 *
 * --broker mosquitto (default) starts Mosquitto and runs edgecore with --mqtt-url; `embedded`
 * uses edgecore's own aedes broker, so edgecore's figures then include the broker's work.
 * --node-flags are given to edgecore's node (e.g. --cpu-prof to profile it under this load);
 * --edge-flags to `edgetwin edge` (e.g. --history-retention 0 to compare without the history).
 *
 * --pin: edgecore (all its threads) alone on the last CPU, and this bench, Mosquitto and the load
 * generator on the others (taskset). Without it all of them share every core, so past capacity
 * the generator and the broker, whose work grows with the offered rate, take CPU from edgecore:
 * on a 2-core machine they need about a core at 4x. Pinned, edgecore has one core to itself; on
 * a 2-core machine the broker then shares the other with the generator and, starved, acknowledges
 * edgecore's publishes too slowly (device-twin/README.md has the figures): use it with 3 or more.
 */
import { spawn, spawnSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { processCpuSeconds, processMemory } from '@edgetwin/sdk/util';
import { freePort, startMosquitto, waitFor, waitForPort } from '@edgetwin/sdk/testing';
import { ensureMapperIdentity } from '@edgetwin/edgecore';
import { runLoad, type LoadConfig, type LoadResult } from './twin-load.js';
import { runDmiLoad, type DmiLoadConfig } from './twin-load-dmi.js';
import { runOverload } from './twin-overload.js';
import { devicesYaml } from './bench-devices.js';

const here = dirname(fileURLToPath(import.meta.url));
const EDGETWIN_BIN = join(here, '..', '..', '..', 'bin', 'edgetwin.js');
/** The machine's cores, read before --pin narrows this process's affinity (which availableParallelism follows). */
const CORES = availableParallelism();

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    props: { type: 'string', default: '10' },
    rate: { type: 'string', default: '10000' },
    window: { type: 'string', default: '0' },
    seconds: { type: 'string', default: '10' },
    mappers: { type: 'string', default: '10' },
    broker: { type: 'string', default: 'mosquitto' },
    'mqtt-auth': { type: 'string', default: 'on' },
    warmup: { type: 'string', default: '3' },
    'node-flags': { type: 'string', default: '' },
    'edge-flags': { type: 'string', default: '' },
    load: { type: 'string' },
    overload: { type: 'boolean', default: false },
    path: { type: 'string', default: 'mqtt' },
    generator: { type: 'string', default: 'peer' },
    twins: { type: 'string', default: '1' },
    pin: { type: 'boolean', default: false },
  },
});
if (!['peer', 'sdk'].includes(args.generator)) {
  throw new Error(`--generator ${args.generator}: expected peer or sdk`);
}

async function metricsText(httpPort: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  return res.text();
}

/** A sample of /metrics; 0 when absent (a labelled counter appears with its first increment). */
function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
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

/** NaN crosses the IPC channel as null (no answers at all). */
function ms(n: number | null): string {
  return n === null || Number.isNaN(n) ? 'n/a' : n.toFixed(1);
}

function mb(n: number | undefined): string {
  return n === undefined || Number.isNaN(n) ? 'n/a' : `${(n / 1048576).toFixed(1)} MB`;
}

/** Mosquitto as installed, apart from the port: `max_queued_messages` at its default (1000). */
async function mosquittoWithDefaultQueue(): Promise<{ url: string; process: ChildProcess; stop: () => Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'edgetwin-bench-mosquitto-'));
  writeFileSync(join(dir, 'mosquitto.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const child = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  await waitForPort(port);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    process: child,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** Runs the load in a child process (so its CPU is not edgecore's nor this process's). */
function forkLoad(cfg: LoadConfig | DmiLoadConfig, onMeasuring?: () => void): Promise<LoadResult> {
  const child = fork(fileURLToPath(import.meta.url), ['--load', JSON.stringify(cfg)], { stdio: 'inherit' });
  return new Promise<LoadResult>((resolve, reject) => {
    child.on('message', (m: { measuring?: true; result?: LoadResult }) => {
      if (m.measuring) onMeasuring?.();
      if (m.result) resolve(m.result);
    });
    child.once('exit', (code) => reject(new Error(`load process exited with ${code}`)));
  });
}

/**
 * --pin: this process (and so Mosquitto and the load, its children) on every CPU but the last one,
 * which is left to edgecore. Returns the `taskset` arguments that start edgecore there.
 */
function pinCpus(): { edgecorePrefix: string[]; line: string } {
  if (CORES < 2) throw new Error(`--pin needs at least 2 CPUs; this machine has ${CORES}`);
  const others = CORES === 2 ? '0' : `0-${CORES - 2}`;
  const edge = String(CORES - 1);
  // -a: every thread of this process (V8's and libuv's already exist), not only the main one.
  const r = spawnSync('taskset', ['-a', '-p', '-c', others, String(process.pid)], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new Error(`--pin: taskset (util-linux) failed: ${r.error?.message ?? r.stderr.trim()}`);
  return {
    edgecorePrefix: ['taskset', '-c', edge],
    line: `pinned: edgecore alone on CPU ${edge}; this bench, Mosquitto and the load generator on CPU ${others}`,
  };
}

async function main(): Promise<void> {
  const pin = args.pin ? pinCpus() : undefined;
  const devices = Number(args.devices);
  const props = Array.from({ length: Number(args.props) }, (_, i) => `p${i}`);
  const mappers = Number(args.mappers);
  const window = Number(args.window);
  const twins = Number(args.twins);
  if (!Number.isInteger(twins) || twins < 1 || twins > props.length)
    throw new Error(`--twins ${args.twins}: expected a whole number from 1 to --props (${props.length})`);
  const dir = mkdtempSync(join(tmpdir(), 'edgetwin-bench-'));
  mkdirSync(join(dir, 'devices'));
  writeFileSync(join(dir, 'devices', 'bench.yaml'), devicesYaml(devices, props, mappers));

  const mosquitto =
    args.broker !== 'mosquitto'
      ? undefined
      : args.overload
        ? await mosquittoWithDefaultQueue()
        : await startMosquitto();
  const httpPort = await freePort();
  const embeddedPort = args.broker === 'embedded' ? await freePort() : undefined;
  const brokerUrl = mosquitto?.url ?? (embeddedPort ? `mqtt://127.0.0.1:${embeddedPort}` : args.broker);
  const brokerFlags = embeddedPort ? ['--mqtt-port', String(embeddedPort)] : ['--mqtt-url', brokerUrl];
  // The embedded broker authenticates and applies its ACLs unless --mqtt-auth off: the simulated
  // mappers then log in as the mapper identity of the devices' protocol, as real mappers do.
  const auth = embeddedPort !== undefined && args['mqtt-auth'] !== 'off';
  const mapperCreds = auth ? await ensureMapperIdentity(join(dir, 'data'), 'bench') : undefined;
  if (embeddedPort !== undefined && !auth) brokerFlags.push('--no-mqtt-auth');
  // edgecore as a user runs it: its own process, the `edgetwin` command, default node flags.
  const edgecoreArgs = [
    ...args['node-flags'].split(' ').filter(Boolean),
    EDGETWIN_BIN,
    'edge',
    '--devices',
    join(dir, 'devices'),
    '--data-dir',
    join(dir, 'data'),
    '--node-name',
    'bench-node',
    '--http-port',
    String(httpPort),
    '--no-mappers',
    '--log-level',
    'warn',
    ...brokerFlags,
    ...args['edge-flags'].split(' ').filter(Boolean),
  ];
  // taskset sets the affinity and then execs node, so the pid stays edgecore's.
  const [program, ...programArgs] = [...(pin?.edgecorePrefix ?? []), process.execPath, ...edgecoreArgs];
  const edgecore: ChildProcess = spawn(program!, programArgs, { stdio: ['ignore', 'inherit', 'inherit'] });
  const pid = edgecore.pid!;
  let exited = false;
  edgecore.once('exit', () => (exited = true));
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error('edgecore exited during start-up');
        const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined);
        if (res?.status !== 200) return false;
        // Ready means serving; wait until all devices are loaded, too.
        return metric(await metricsText(httpPort), 'edgetwin_twin_devices') >= devices;
      },
      60_000,
      'edgecore to be ready with all devices',
    );
    await new Promise((r) => setTimeout(r, 2000)); // let the start-up publishes (retained specs and values) settle
    const idle = processMemory(pid);
    console.log(
      `twin bench: edgecore pid ${pid} (${process.version}), ${devices} devices x ${props.length} properties, broker ${args.broker} (${brokerUrl})${embeddedPort === undefined ? '' : `, MQTT authentication and ACLs ${auth ? 'on' : 'off'}`}`,
    );
    if (pin) console.log(`  ${pin.line}`);
    console.log(`  edgecore idle           RSS ${mb(idle?.rss)}, peak so far ${mb(idle?.peak)}`);

    const cfg: LoadConfig = {
      url: brokerUrl,
      ...(mapperCreds ? { username: mapperCreds.username, password: mapperCreds.password } : {}),
      mappers,
      devicesPerMapper: devices / mappers,
      props,
      rate: Number(args.rate),
      window,
      seconds: Number(args.seconds),
      warmupSeconds: Number(args.warmup),
      // As the SDK's mappers do (BrokerLink): reports are small and someone waits for each.
      noDelay: true,
      generator: args.generator === 'sdk' ? 'sdk' : 'peer',
      twinsPerReport: twins,
    };
    if (args.overload) {
      if (args.path === 'both') throw new Error('--overload takes --path mqtt or dmi, one at a time');
      const seconds = args.seconds === '10' ? 60 : Number(args.seconds); // 60 s unless given
      console.log(
        `  overload over ${args.path === 'dmi' ? 'DMI (ReportDeviceStatus, 5 s deadline per call)' : 'MQTT'}`,
      );
      console.log(
        `  load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')} on ${CORES} cores`,
      );
      const passed = await runOverload(
        {
          httpPort,
          pid,
          ...(mosquitto?.process.pid === undefined ? {} : { brokerPid: mosquitto.process.pid }),
          base:
            args.path === 'dmi'
              ? // A mapper's deadline (the sdk runtime's is 5 s): past capacity calls end, not queue.
                ({
                  ...cfg,
                  dmiSocket: join(dir, 'data', 'dmi', 'dmi.sock'),
                  protocol: 'bench',
                  deadlineMs: 5000,
                } as DmiLoadConfig)
              : cfg,
          path: args.path === 'dmi' ? 'dmi' : 'mqtt',
          runLoad: (c) => forkLoad(c),
          metricsText: () => metricsText(httpPort),
          metric,
          mb,
          cores: pin ? pin.line : `${CORES} cores shared by all`,
        },
        seconds,
      );
      console.log(
        `  load average at the end ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
      );
      if (!passed) {
        console.log('FAILED: see the lines above (an acknowledged update missing, or edgecore not answering again)');
        process.exitCode = 1;
      }
      return;
    }
    const measure = async (path: 'mqtt' | 'dmi'): Promise<void> => {
      const mode = window > 0 ? `${window} outstanding reports per mapper` : `${cfg.rate} reports/s`;
      const how =
        path === 'dmi'
          ? 'ReportDeviceStatus over DMI (gRPC, unix socket), one connection each'
          : '$hw twin/update over MQTT, QoS 1';
      console.log(
        `  [${path}] load: ${mappers} simulated mappers, ${how}, ${mode}, ${twins} ${twins === 1 ? 'twin' : 'twins of one device'} per report: ${cfg.warmupSeconds} s warm-up (not measured), then ${cfg.seconds} s measured`,
      );

      let maxRss = idle?.rss ?? 0;
      const sampler = setInterval(() => (maxRss = Math.max(maxRss, processMemory(pid)?.rss ?? 0)), 100);
      let last = metric(await metricsText(httpPort), 'edgetwin_twin_updates_committed_total{kind="reported"}');
      const progress = setInterval(() => {
        void metricsText(httpPort).then(
          (text) => {
            const c = metric(text, 'edgetwin_twin_updates_committed_total{kind="reported"}');
            console.log(
              `  ... ${c - last} committed in the last second, edgecore RSS ${mb(processMemory(pid)?.rss)}, requests in flight ${metric(text, 'edgetwin_mqtt_requests_in_flight')}`,
            );
            last = c;
          },
          () => undefined,
        );
      }, 1000);

      /** edgecore's and the broker's counters when the measured phase starts. */
      const brokerPid = mosquitto?.process.pid;
      const sample = async () => {
        const text = await metricsText(httpPort);
        return {
          committed: metric(text, 'edgetwin_twin_updates_committed_total{kind="reported"}'),
          commits: metric(text, 'edgetwin_twin_commits_total'),
          cpu: processCpuSeconds(pid) ?? NaN,
          brokerCpu: brokerPid === undefined ? NaN : (processCpuSeconds(brokerPid) ?? NaN),
          text,
        };
      };
      let atStart: Promise<Awaited<ReturnType<typeof sample>>> | undefined;
      const loadCfg: LoadConfig | DmiLoadConfig =
        path === 'dmi' ? { ...cfg, dmiSocket: join(dir, 'data', 'dmi', 'dmi.sock'), protocol: 'bench' } : cfg;
      const result = await forkLoad(loadCfg, () => {
        atStart = sample();
        maxRss = processMemory(pid)?.rss ?? 0;
      });
      clearInterval(progress);
      clearInterval(sampler);
      const s0 = await atStart!;
      const s1 = await sample();
      const cpu = s1.cpu - s0.cpu;
      const brokerCpu = s1.brokerCpu - s0.brokerCpu;
      const committed = s1.committed - s0.committed;
      const commits = s1.commits - s0.commits;
      const end = processMemory(pid);

      console.log(
        `  reports sent           ${result.sent} in ${result.seconds.toFixed(2)} s (${Math.round(result.sent / result.seconds)}/s offered)`,
      );
      const sustained = result.answered / result.untilLastAnswer;
      console.log(
        `  reports committed      ${committed}; sustained ${Math.round(sustained)} reports/s${twins === 1 ? '' : ` = ${Math.round(sustained * twins)} twins/s`} (answered / time from first publish to last result, ${result.untilLastAnswer.toFixed(1)} s)`,
      );
      console.log(`  results answered       ${result.answered}, errors ${result.errors}, unanswered ${result.lost}`);
      console.log(
        `  report->answer         p50 ${ms(result.p50)} ms, p99 ${ms(result.p99)} ms, max ${ms(result.max)} ms`,
      );
      if (path === 'mqtt') {
        const twinSide = histogramQuantiles(s1.text, 'edgetwin_mqtt_request_seconds', [0.5, 0.99]);
        console.log(
          `  edgecore request time  p50 <= ${twinSide[0]} ms, p99 <= ${twinSide[1]} ms (receive -> result published, histogram buckets, warm-up included)`,
        );
      }
      console.log(
        `  edgecore CPU           ${cpu.toFixed(2)} s = ${((cpu * 1e6) / Math.max(1, committed)).toFixed(0)} µs per committed report${twins === 1 ? '' : `, ${((cpu * 1e6) / Math.max(1, committed * twins)).toFixed(0)} µs per twin`} (load average ${loadavg()[0]!.toFixed(1)} on ${CORES} cores)`,
      );
      const loadCpu = result.cpuSeconds;
      console.log(
        `  other CPU              load generator ${loadCpu.toFixed(2)} s${Number.isNaN(brokerCpu) ? '' : `, Mosquitto ${brokerCpu.toFixed(2)} s`} (${pin ? 'pinned: edgecore on its own core' : `all three share the ${CORES} cores`})`,
      );
      console.log(
        `  edgecore RSS           ${mb(end?.rss)} at the end, ${mb(maxRss)} peak while measured, ${mb(end?.peak)} peak since start (VmHWM: start-up and warm-up included)`,
      );
      if (commits > 0)
        console.log(
          `  SQLite transactions    ${commits} (${(committed / commits).toFixed(1)} updates per commit on average)`,
        );
      if (result.lost > 0) {
        console.log(
          `FAILED [${path}]: ${result.lost} of ${result.sent} reports got no answer within 15 s of the load stopping (edgecore overloaded or stuck; see the lines above)`,
        );
        process.exitCode = 1;
      }
    };
    const paths: ('mqtt' | 'dmi')[] = args.path === 'both' ? ['mqtt', 'dmi'] : args.path === 'dmi' ? ['dmi'] : ['mqtt'];
    if (!['mqtt', 'dmi', 'both'].includes(args.path))
      throw new Error(`--path ${args.path}: expected mqtt, dmi or both`);
    for (const path of paths) await measure(path);
  } finally {
    edgecore.kill('SIGTERM');
    await waitFor(() => exited, 10_000, 'edgecore to stop').catch(() => edgecore.kill('SIGKILL'));
    await mosquitto?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args.load !== undefined) {
  // Child process: run the load and send the result back.
  const cfg = JSON.parse(args.load) as LoadConfig | DmiLoadConfig;
  const measuring = () => process.send!({ measuring: true });
  const result = await ('dmiSocket' in cfg ? runDmiLoad(cfg, measuring) : runLoad(cfg, measuring));
  process.send!({ result }, () => process.exit(0));
} else {
  await main();
}

/**
 * `npm run bench:twin -- --overload`: graceful saturation. Measures edgecore's capacity closed
 * loop (30 outstanding reports per mapper), then offers 2x and 4x that capacity open loop for
 * `--seconds` (default 60) each, printing every second the reports accepted (committed) per
 * second, edgecore's queue depths and RSS; then how long after the load stopped a fresh twin/get
 * was answered, the peaks, and whether every acknowledged report is in the twin (per key the
 * values only grow, so the twin must hold at least the last one answered).
 */
import { processCpuSeconds, processMemory } from '@edgetwin/sdk/util';
import type { LoadConfig, LoadResult } from './twin-load.js';

export interface OverloadContext {
  httpPort: number;
  pid: number;
  /** The broker's pid when it is a process of its own (Mosquitto), for its CPU. */
  brokerPid?: number;
  base: LoadConfig;
  /** Runs the load in its child process. */
  runLoad: (cfg: LoadConfig) => Promise<LoadResult>;
  /** `dmi`: the load reports over DMI; edgecore's MQTT queue depths then say nothing and are not shown. */
  path?: 'mqtt' | 'dmi';
  metricsText: () => Promise<string>;
  metric: (text: string, name: string) => number;
  mb: (n: number | undefined) => string;
  /** Who shares the cores, for the CPU line: e.g. "2 cores shared by all". */
  cores: string;
}

const average = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const pct = (share: number) => `${(share * 100).toFixed(0)} %`;
const cpuOf = (pid: number | undefined) => (pid === undefined ? NaN : (processCpuSeconds(pid) ?? NaN));

const COMMITTED = 'edgetwin_twin_updates_committed_total{kind="reported"}';
const DEPTHS = [
  ['in flight', 'edgetwin_mqtt_requests_in_flight'],
  ['held', 'edgetwin_mqtt_requests_held'],
  ['unacked', 'edgetwin_mqtt_unacked_publishes'],
  ['queued', 'edgetwin_mqtt_publishes_queued'],
] as const;

/** Returns false when an acknowledged update is missing from the twin or edgecore stopped answering. */
export async function runOverload(ctx: OverloadContext, seconds: number): Promise<boolean> {
  const capacityRun = await ctx.runLoad({ ...ctx.base, window: 30, seconds: 10, warmupSeconds: 3 });
  const capacity = Math.round(capacityRun.answered / capacityRun.untilLastAnswer);
  console.log(`  capacity (closed loop, 30 outstanding per mapper, 10 s): ${capacity} reports/s`);
  let ok = true;
  const lastAnswered: Record<string, number> = {};
  for (const factor of [2, 4]) {
    const rate = capacity * factor;
    console.log(`  --- ${factor}x capacity: ${rate} reports/s offered for ${seconds} s`);
    const depthMetrics = ctx.path === 'dmi' ? [] : DEPTHS;
    const peaks = new Map<string, number>(depthMetrics.map(([label]) => [label, 0]));
    let peakRss = 0;
    const accepted: number[] = [];
    let last = ctx.metric(await ctx.metricsText(), COMMITTED);
    // CPU per second (share of one core) of edgecore and of the broker: who had the cores.
    const cpuShare = { edge: [] as number[], broker: [] as number[] };
    let lastCpu = { edge: processCpuSeconds(ctx.pid) ?? NaN, broker: cpuOf(ctx.brokerPid) };
    let t = 0;
    const sampler = setInterval(() => {
      void ctx.metricsText().then(
        (text) => {
          const c = ctx.metric(text, COMMITTED);
          const rss = processMemory(ctx.pid)?.rss ?? 0;
          peakRss = Math.max(peakRss, rss);
          const depths = depthMetrics.map(([label, name]) => {
            const v = ctx.metric(text, name);
            peaks.set(label, Math.max(peaks.get(label)!, v));
            return `${label} ${v}`;
          });
          const cpu = { edge: processCpuSeconds(ctx.pid) ?? NaN, broker: cpuOf(ctx.brokerPid) };
          const share = { edge: cpu.edge - lastCpu.edge, broker: cpu.broker - lastCpu.broker };
          lastCpu = cpu;
          t++;
          if (t <= seconds) {
            accepted.push(c - last);
            cpuShare.edge.push(share.edge);
            cpuShare.broker.push(share.broker);
          }
          const cpuText = `CPU edgecore ${pct(share.edge)}${Number.isNaN(share.broker) ? '' : `, broker ${pct(share.broker)}`}`;
          console.log(
            `  ${String(t).padStart(3)} s  accepted ${c - last}/s  ${depths.join(', ')}  RSS ${ctx.mb(rss)}  ${cpuText}`,
          );
          last = c;
        },
        () => undefined,
      );
    }, 1000);
    const result = await ctx.runLoad({
      ...ctx.base,
      rate,
      window: 0,
      seconds,
      warmupSeconds: 0,
      probe: true,
      drainSeconds: 20,
    });
    clearInterval(sampler);
    Object.assign(lastAnswered, result.lastAnswered);
    const steady = accepted.slice(5); // the first seconds fill the queues
    const mean = steady.reduce((a, b) => a + b, 0) / Math.max(1, steady.length);
    console.log(
      `  ${factor}x: accepted ${Math.round(mean)}/s on average after the first 5 s (${((mean / capacity) * 100).toFixed(0)} % of capacity, min ${Math.min(...steady)}/s); ` +
        `answered ${result.answered} of ${result.sent}, errors ${result.errors}, shed (never answered) ${result.lost}`,
    );
    console.log(
      `  ${factor}x: peaks ${[...peaks].map(([k, v]) => `${k} ${v}`).join(', ')}; edgecore RSS peak ${ctx.mb(peakRss)}`,
    );
    // Who had the cores: on a small machine the generator and the broker take them from edgecore.
    const brokerShare = average(cpuShare.broker.slice(5));
    console.log(
      `  ${factor}x: CPU after the first 5 s, share of one core: edgecore ${pct(average(cpuShare.edge.slice(5)))}` +
        `${Number.isNaN(brokerShare) ? '' : `, broker ${pct(brokerShare)}`}; load generator ${result.cpuSeconds.toFixed(1)} s ` +
        `in all (${ctx.cores})`,
    );
    if (result.answerAgainMs === undefined) {
      console.log(`  ${factor}x: FAILED: no twin/get answered within 120 s of the load stopping`);
      ok = false;
    } else {
      console.log(
        `  ${factor}x: a fresh twin/get answered ${Math.round(result.answerAgainMs)} ms after the load stopped`,
      );
    }
  }
  // Every acknowledged report is in the twin.
  let checked = 0;
  let missing = 0;
  const devices = new Map<string, Record<string, number>>();
  for (const [key, value] of Object.entries(lastAnswered)) {
    const [ns, dev, prop] = key.split('/') as [string, string, string];
    let reported = devices.get(`${ns}/${dev}`);
    if (!reported) {
      const res = await fetch(`http://127.0.0.1:${ctx.httpPort}/api/v1/devices/${ns}/${dev}/twin`);
      const twin = (await res.json()) as { reported: Record<string, { value: number }> };
      reported = Object.fromEntries(Object.entries(twin.reported).map(([p, e]) => [p, Number(e.value)]));
      devices.set(`${ns}/${dev}`, reported);
    }
    checked++;
    if (!((reported[prop] ?? -1) >= value)) missing++;
  }
  console.log(`  acknowledged updates lost: ${missing} (of the last answered value of ${checked} properties)`);
  return ok && missing === 0;
}

/**
 * The load side of the twin benchmark, run in a child process: simulated mappers, one MQTT
 * connection each, publish `$hw` twin/update reports (QoS 1) and time each one from publish to
 * its twin/update/result. Two modes: a fixed total rate (open loop, `rate`), or at most `window`
 * reports outstanding per mapper (closed loop: measures the sustainable throughput).
 */
import { connectAsync, type MqttClient } from 'mqtt';

export interface LoadConfig {
  url: string;
  mappers: number;
  devicesPerMapper: number;
  props: string[];
  /** Reports per second in all (open loop); ignored when `window` > 0. */
  rate: number;
  /** Outstanding reports per mapper (closed loop); 0 = open loop. */
  window: number;
  seconds: number;
  /** Set TCP_NODELAY on the mappers' sockets (mqtt.js leaves Nagle's algorithm on). */
  noDelay?: boolean;
}

export interface LoadResult {
  sent: number;
  answered: number;
  errors: number;
  lost: number;
  seconds: number;
  /** Seconds from the first publish to the last answer. */
  untilLastAnswer: number;
  p50: number;
  p99: number;
  max: number;
  /** The same for reports sent after the first second (JIT warm-up and connection start excluded). */
  steadyP50: number;
  steadyP99: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runLoad(cfg: LoadConfig): Promise<LoadResult> {
  const clients: MqttClient[] = [];
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const steady: number[] = [];
  let start = 0;
  let errors = 0;
  let sent = 0;
  let value = 0;
  let sending = true;
  let lastAnswer = 0;

  const send = (k: number) => {
    const n = sent++;
    const dev = Math.floor(n / cfg.mappers) % cfg.devicesPerMapper;
    const prop = cfg.props[n % cfg.props.length]!;
    const id = `${k}-${n}`;
    value = (value + 1) % 1000;
    const body = JSON.stringify({
      event_id: id,
      timestamp: Date.now(),
      twin: { [prop]: { actual: { value: String(value) } } },
    });
    sentAt.set(id, performance.now());
    clients[k]!.publish(`$hw/events/device/m${k}/dev-${dev}/twin/update`, body, { qos: 1 });
  };

  for (let k = 0; k < cfg.mappers; k++) {
    // A no-op log skips mqtt.js's per-packet debug() calls.
    const c = await connectAsync(cfg.url, {
      clientId: `bench-mapper-${k}-${process.pid}`,
      reconnectPeriod: 0,
      log: () => {},
    });
    c.on('message', (_topic, payload) => {
      const t = performance.now();
      const msg = JSON.parse(payload.toString('utf8')) as { event_id?: string; code?: number };
      const id = msg.event_id ?? '';
      const t0 = sentAt.get(id);
      if (t0 === undefined) return;
      sentAt.delete(id);
      if (msg.code !== undefined) errors++;
      latencies.push(t - t0);
      if (t0 - start >= 1000) steady.push(t - t0);
      lastAnswer = t;
      if (cfg.window > 0 && sending) send(k);
    });
    if (cfg.noDelay) (c.stream as { setNoDelay?: (on: boolean) => unknown }).setNoDelay?.(true);
    await c.subscribeAsync(`$hw/events/device/m${k}/+/twin/update/result`, { qos: 1 });
    clients.push(c);
  }

  start = performance.now();
  const end = start + cfg.seconds * 1000;
  if (cfg.window > 0) {
    for (let k = 0; k < cfg.mappers; k++) for (let i = 0; i < cfg.window; i++) send(k);
    await new Promise((r) => setTimeout(r, cfg.seconds * 1000));
    sending = false;
  } else {
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        const due = Math.min(cfg.rate * cfg.seconds, Math.floor(((now - start) / 1000) * cfg.rate)) - sent;
        for (let i = 0; i < due; i++) send(sent % cfg.mappers);
        if (now >= end) resolve();
        else setTimeout(tick, 5);
      };
      tick();
    });
  }
  const sendSeconds = (performance.now() - start) / 1000;
  // Let the last answers arrive.
  const drainUntil = performance.now() + 15_000;
  while (sentAt.size > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 50));
  await Promise.all(clients.map((c) => c.endAsync()));
  latencies.sort((a, b) => a - b);
  steady.sort((a, b) => a - b);
  return {
    sent,
    answered: latencies.length,
    errors,
    lost: sentAt.size,
    seconds: sendSeconds,
    untilLastAnswer: (lastAnswer - start) / 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
    steadyP50: percentile(steady, 50),
    steadyP99: percentile(steady, 99),
  };
}

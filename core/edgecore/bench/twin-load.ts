/**
 * The load side of the twin benchmark (twin-bench.ts), run in a child process: simulated mappers,
 * one MQTT connection each, publish `$hw` twin/update reports (QoS 1) and time each one from
 * publish to its twin/update/result. Two modes: a fixed total rate (open loop, `rate`), or at
 * most `window` reports outstanding per mapper (closed loop: measures the sustainable throughput).
 *
 * An optional warm-up phase runs the same load first and is not measured (edgecore's code is
 * compiled and its heap sized by then), as a daemon that has been running for a while would be.
 */
import { MqttConnection } from '@edgetwin/sdk/mqtt';
import { connectAsync } from 'mqtt';
import { LEAN_MQTT_OPTIONS } from './lean-mqtt.js';

export interface LoadConfig {
  url: string;
  /** Credentials of the simulated mappers (the embedded broker with authentication on). */
  username?: string;
  password?: string;
  mappers: number;
  devicesPerMapper: number;
  props: string[];
  /** Reports per second in all (open loop); ignored when `window` > 0. */
  rate: number;
  /** Outstanding reports per mapper (closed loop); 0 = open loop. */
  window: number;
  /** Measured seconds. */
  seconds: number;
  /** Seconds of the same load before the measured phase (default 0). */
  warmupSeconds?: number;
  /** Set TCP_NODELAY on the mappers' sockets, as the SDK's BrokerLink does (mqtt.js leaves Nagle's algorithm on). */
  noDelay?: boolean;
  /** Seconds to wait for the last answers after sending stops (default 15). */
  drainSeconds?: number;
  /** After sending stops: send a twin/get every 50 ms until one is answered, and report how long that took. */
  probe?: boolean;
  /**
   * The simulated mappers' client (default peer): an independent implementation (mqtt.js; for DMI
   * @grpc/grpc-js), or the sdk's own (edgecore's MQTT client; the runtime's DMI client), which
   * costs the load less CPU per report: 1.6-2.0 s against 2.4-2.7 s for the same 65,000 MQTT
   * reports (load average 4-5). That matters when the load shares the cores with edgecore and the
   * broker at several times edgecore's capacity.
   */
  generator?: 'peer' | 'sdk';
  /**
   * Twins per report (default 1): each report carries this many properties of one device, as a
   * mapper reporting a whole device per collect cycle sends them (the sdk runtime, KubeEdge's
   * mapper-framework). At most the number of properties.
   */
  twinsPerReport?: number;
}

/** One twin of a report: its property, its `ns/device/property` key and the value sent. */
export interface SentTwin {
  prop: string;
  key: string;
  value: number;
}

/**
 * The twins report number `n` of `device` (`ns/name`) carries: `k` consecutive properties from
 * the n-th group (with k = 1, property n mod the count), each with the next value of its key
 * (values only grow per key, so the twin can be checked against `lastSent` at the end).
 */
export function nextTwins(lastSent: Map<string, number>, device: string, props: string[], n: number, k: number) {
  return Array.from({ length: k }, (_, i): SentTwin => {
    const prop = props[(n * k + i) % props.length]!;
    const key = `${device}/${prop}`;
    const value = (lastSent.get(key) ?? 0) + 1;
    lastSent.set(key, value);
    return { prop, key, value };
  });
}

/** Records that a report of `twins` was answered: per key, the highest value answered. */
export function recordAnswered(lastAnswered: Map<string, number>, twins: readonly SentTwin[]): void {
  for (const { key, value } of twins) if ((lastAnswered.get(key) ?? 0) < value) lastAnswered.set(key, value);
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
  /** CPU (user + system) this load process used while sending and draining. */
  cpuSeconds: number;
  /** With `probe`: ms from the end of sending to the first answered twin/get. */
  answerAgainMs?: number;
  /** Per `ns/device/property`: the highest value whose report was answered (values only grow per key). */
  lastAnswered: Record<string, number>;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The event_id of an answer (the load's ids are ASCII without quotes). */
const EVENT_ID = /"event_id":"([^"]*)"/;

/** One simulated mapper's connection, whichever client it is. */
interface LoadClient {
  publish(topic: string, body: string): void;
  end(): Promise<void>;
}

type OnAnswer = (payload: Buffer) => void;

async function mqttJsClient(
  cfg: LoadConfig,
  clientId: string,
  filters: string[],
  onAnswer: OnAnswer,
): Promise<LoadClient> {
  const c = await connectAsync(cfg.url, {
    clientId,
    ...(cfg.username === undefined ? {} : { username: cfg.username, password: cfg.password }),
    reconnectPeriod: 0,
    ...LEAN_MQTT_OPTIONS,
  });
  c.on('message', (_topic, payload) => onAnswer(payload));
  if (cfg.noDelay) (c.stream as { setNoDelay?: (on: boolean) => unknown }).setNoDelay?.(true);
  await c.subscribeAsync(filters, { qos: 1 });
  return {
    publish: (topic, body) => void c.publish(topic, body, { qos: 1 }),
    end: () => c.endAsync(),
  };
}

async function sdkClient(
  cfg: LoadConfig,
  clientId: string,
  filters: string[],
  onAnswer: OnAnswer,
): Promise<LoadClient> {
  // A generator offers more than the broker takes: publishes past the window wait in the client.
  const c = new MqttConnection({
    url: cfg.url,
    clientId,
    ...(cfg.username === undefined ? {} : { username: cfg.username, password: cfg.password }),
    window: 4096,
    maxInFlight: 4096,
  });
  c.setMessageHandler((_topic, payload, done) => {
    onAnswer(payload);
    done();
  });
  await c.open();
  await c.subscribe(filters, 1);
  return {
    publish: (topic, body) => c.publish(topic, body, 1, false),
    end: () => c.end(),
  };
}

/** One timed run of the load; answers of an earlier phase that arrive late are ignored. */
class Phase {
  readonly sentAt = new Map<string, { t: number; twins: SentTwin[] }>();
  readonly latencies: number[] = [];
  errors = 0;
  sent = 0;
  sending = true;
  start = performance.now();
  lastAnswer = this.start;

  constructor(readonly name: string) {}
}

/**
 * Sends for `seconds`: closed loop (`cfg.window` outstanding per mapper, each answer sending the
 * next; the caller's answer handler does that while `sending`), or open loop at `cfg.rate` per second
 * spread over the mappers. Shared by the MQTT and the DMI load.
 */
export async function offer(
  cfg: LoadConfig,
  p: { start: number; sent: number },
  seconds: number,
  send: (mapper: number) => void,
): Promise<void> {
  if (cfg.window > 0) {
    for (let k = 0; k < cfg.mappers; k++) for (let i = 0; i < cfg.window; i++) send(k);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    return;
  }
  const end = p.start + seconds * 1000;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(cfg.rate * seconds, Math.floor(((now - p.start) / 1000) * cfg.rate)) - p.sent;
      for (let i = 0; i < due; i++) send(p.sent % cfg.mappers);
      if (now >= end) resolve();
      else setTimeout(tick, 5);
    };
    tick();
  });
}

export async function runLoad(cfg: LoadConfig, onMeasuring?: () => void): Promise<LoadResult> {
  const clients: LoadClient[] = [];
  let phase = new Phase('none');
  /** Per key the last value sent (values only grow per key, so the twin can be checked). */
  const lastSent = new Map<string, number>();
  const lastAnswered = new Map<string, number>();
  let probeAnswered = false;

  const send = (k: number) => {
    const n = phase.sent++;
    const dev = Math.floor(n / cfg.mappers) % cfg.devicesPerMapper;
    const id = `${phase.name}-${k}-${n}`;
    const twins = nextTwins(lastSent, `m${k}/dev-${dev}`, cfg.props, n, cfg.twinsPerReport ?? 1);
    // The same JSON as JSON.stringify would write (every part is a plain identifier or number),
    // built without it: the generator shares the cores with edgecore and the broker.
    const twin = twins.map((t) => `"${t.prop}":{"actual":{"value":"${t.value}"}}`).join(',');
    const body = `{"event_id":"${id}","timestamp":${Date.now()},"twin":{${twin}}}`;
    phase.sentAt.set(id, { t: performance.now(), twins });
    clients[k]!.publish(`$hw/events/device/m${k}/dev-${dev}/twin/update`, body);
  };

  const connect = cfg.generator === 'sdk' ? sdkClient : mqttJsClient;
  for (let k = 0; k < cfg.mappers; k++) {
    const onAnswer = (payload: Buffer) => {
      const t = performance.now();
      // Only event_id and whether there is a code are needed; a full JSON.parse of every answer
      // cost the generator more than finding those two.
      const text = payload.toString('latin1');
      const id = EVENT_ID.exec(text)?.[1] ?? '';
      const failed = text.includes('"code":');
      if (id.startsWith('probe-')) probeAnswered = true;
      const sent = phase.sentAt.get(id);
      if (sent === undefined) return;
      phase.sentAt.delete(id);
      if (failed) phase.errors++;
      else recordAnswered(lastAnswered, sent.twins);
      phase.latencies.push(t - sent.t);
      phase.lastAnswer = t;
      if (cfg.window > 0 && phase.sending) send(k);
    };
    const filters = [`$hw/events/device/m${k}/+/twin/update/result`, `$hw/events/device/m${k}/+/twin/get/result`];
    clients.push(await connect(cfg, `bench-mapper-${k}-${process.pid}`, filters, onAnswer));
  }

  const run = async (name: string, seconds: number): Promise<LoadResult> => {
    phase = new Phase(name);
    const p = phase;
    const cpu0 = process.cpuUsage();
    await offer(cfg, p, seconds, send);
    p.sending = false;
    const stoppedAt = performance.now();
    const sendSeconds = (stoppedAt - p.start) / 1000;
    let answerAgainMs: number | undefined;
    if (cfg.probe) {
      probeAnswered = false;
      for (let i = 0; !probeAnswered && performance.now() - stoppedAt < 120_000; i++) {
        clients[0]!.publish(`$hw/events/device/m0/dev-0/twin/get`, JSON.stringify({ event_id: `probe-${i}` }));
        await new Promise((r) => setTimeout(r, 50));
      }
      if (probeAnswered) answerAgainMs = performance.now() - stoppedAt;
    }
    // Let the last answers arrive.
    const drainUntil = performance.now() + (cfg.drainSeconds ?? 15) * 1000;
    while (p.sentAt.size > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 50));
    const cpu = process.cpuUsage(cpu0);
    p.latencies.sort((a, b) => a - b);
    return {
      sent: p.sent,
      answered: p.latencies.length,
      errors: p.errors,
      lost: p.sentAt.size,
      seconds: sendSeconds,
      untilLastAnswer: (p.lastAnswer - p.start) / 1000,
      p50: percentile(p.latencies, 50),
      p99: percentile(p.latencies, 99),
      max: p.latencies[p.latencies.length - 1] ?? NaN,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      ...(answerAgainMs === undefined ? {} : { answerAgainMs }),
      lastAnswered: Object.fromEntries(lastAnswered),
    };
  };

  const warmup = cfg.warmupSeconds ?? 0;
  if (warmup > 0) await run('warmup', warmup);
  onMeasuring?.();
  const result = await run('measured', cfg.seconds);
  await Promise.all(clients.map((c) => c.end()));
  return result;
}

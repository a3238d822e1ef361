/**
 * Debian's mosquitto_sub and mosquitto_pub as independent MQTT clients for tests: what a process
 * under test publishes is seen through mosquitto_sub, what it receives is sent with mosquitto_pub.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { stopProcess } from './peers.js';
import { waitFor } from './ports.js';

const execFileAsync = promisify(execFile);

/**
 * Where the clients connect: a port on 127.0.0.1, or a port with the credentials of an identity
 * (the edge broker refuses anonymous clients; tests add one with `addMqttUser` from @edgetwin/edgecore).
 */
export type BrokerTarget = number | { port: number; username?: string; password?: string };

/** mosquitto_sub/mosquitto_pub arguments that reach `target`. */
export function brokerArgs(target: BrokerTarget): string[] {
  const t = typeof target === 'number' ? { port: target } : target;
  const args = ['-h', '127.0.0.1', '-p', String(t.port)];
  if (t.username !== undefined) args.push('-u', t.username);
  if (t.password !== undefined) args.push('-P', t.password);
  return args;
}

/** A parsed JSON payload; its shape is what a test's assertions check. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface ReceivedMessage {
  topic: string;
  /** The payload as text (`''` for an empty one). */
  payload: string;
  json(): Json;
}

/** A running mosquitto_sub that records every message it receives. */
export class MosquittoSub {
  readonly messages: ReceivedMessage[] = [];
  private child: ChildProcess | undefined;
  private buf = '';

  constructor(
    private readonly port: BrokerTarget,
    private readonly filters: string[],
    /** Where the subscription probe goes; it must be a topic the identity may publish and read. */
    private readonly probePrefix = 'apps/probe',
    /** Probe on exactly `probePrefix` (told apart by its payload), for an identity with exact grants. */
    private readonly probeExact = false,
  ) {}

  /** Like startProbing(), probing on exactly `probeTopic` (a mapper that may publish only named topics). */
  static startProbingOn(target: BrokerTarget, probeTopic: string, ...filters: string[]): Promise<MosquittoSub> {
    return new MosquittoSub(target, filters, probeTopic, true).start();
  }

  /** Like start(), for an identity that may not use `apps/` (a mapper: its own `edgetwin/v1/nodes/{node}/{protocol}/...`). */
  static startProbing(target: BrokerTarget, probePrefix: string, ...filters: string[]): Promise<MosquittoSub> {
    return new MosquittoSub(target, filters, probePrefix).start();
  }

  /** Starts mosquitto_sub on `filters` and returns once it is surely subscribed. */
  static start(port: BrokerTarget, ...filters: string[]): Promise<MosquittoSub> {
    return new MosquittoSub(port, filters).start();
  }

  /** Starts mosquitto_sub and waits until it receives a probe, so it is surely subscribed. */
  async start(): Promise<this> {
    const args = [
      ...brokerArgs(this.port),
      '-q',
      '1',
      '-v',
      '-t',
      this.probeExact ? this.probePrefix : `${this.probePrefix}/#`,
    ];
    for (const f of this.filters) args.push('-t', f);
    this.child = spawn('mosquitto_sub', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString('utf8');
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const sp = line.indexOf(' ');
        const topic = sp < 0 ? line : line.slice(0, sp);
        const raw = sp < 0 ? '' : line.slice(sp + 1);
        const payload = raw === '(null)' ? '' : raw; // how mosquitto_sub -v shows an empty payload
        this.messages.push({ topic, payload, json: (): Json => JSON.parse(payload) });
      }
    });
    const nonce = Math.random().toString(36).slice(2);
    const probe = this.probeExact ? this.probePrefix : `${this.probePrefix}/${nonce}`;
    await waitFor(
      async () => {
        await mosquittoPub(this.port, probe, `probe-${nonce}`);
        return this.messages.some((m) => m.topic === probe && m.payload === `probe-${nonce}`);
      },
      15_000,
      'mosquitto_sub to subscribe',
    );
    return this;
  }

  /** Waits for a message on `topic` (exact) matching `pred` that arrived at index `from` or later. */
  waitFor(
    topic: string,
    pred: (m: ReceivedMessage) => boolean = () => true,
    from = 0,
    timeoutMs = 15_000,
  ): Promise<ReceivedMessage> {
    return waitFor(
      () => this.messages.slice(from).find((m) => m.topic === topic && pred(m)),
      timeoutMs,
      `a message on ${topic} (got: ${this.messages.map((m) => m.topic).join(', ') || 'nothing'})`,
    );
  }

  on(topic: string): ReceivedMessage[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** The index the next message will get: `waitFor(topic, pred, sub.mark)` sees only later ones. */
  get mark(): number {
    return this.messages.length;
  }

  async stop(): Promise<void> {
    if (this.child) await stopProcess(this.child);
    this.child = undefined;
  }
}

export async function mosquittoPub(
  port: BrokerTarget,
  topic: string,
  payload: string,
  opts: { qos?: 0 | 1 | 2; retain?: boolean } = {},
): Promise<void> {
  const args = [...brokerArgs(port), '-t', topic, '-m', payload, '-q', String(opts.qos ?? 1)];
  if (opts.retain) args.push('-r');
  await execFileAsync('mosquitto_pub', args, { timeout: 10_000 });
}

/** Publishes each line as one message over a single connection (mosquitto_pub -l). */
export async function mosquittoPubLines(port: BrokerTarget, topic: string, lines: string[]): Promise<void> {
  const child = spawn('mosquitto_pub', [...brokerArgs(port), '-q', '1', '-t', topic, '-l'], {
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stdin.end(lines.join('\n') + '\n');
  const code = await exited;
  if (code !== 0) throw new Error(`mosquitto_pub -l exited with ${code}`);
}

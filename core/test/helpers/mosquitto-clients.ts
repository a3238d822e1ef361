/**
 * Debian's mosquitto_sub and mosquitto_pub as independent MQTT clients for tests.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { waitFor } from '@edgetwin/sdk/testing';

const execFileAsync = promisify(execFile);

export interface ReceivedMessage {
  topic: string;
  payload: string;
  json(): unknown;
}

/** A running mosquitto_sub that records every message; start() returns once the broker sent SUBACK. */
export class MosquittoSub {
  readonly messages: ReceivedMessage[] = [];
  private child: ChildProcess | undefined;

  private constructor(
    private readonly port: number,
    private readonly topics: string[],
  ) {}

  static async start(port: number, ...topics: string[]): Promise<MosquittoSub> {
    const sub = new MosquittoSub(port, topics);
    await sub.run();
    return sub;
  }

  private async run(): Promise<void> {
    const args = ['-h', '127.0.0.1', '-p', String(this.port), '-v', '-d', '-q', '1'];
    for (const t of this.topics) args.push('-t', t);
    // stdbuf: mosquitto_sub's debug lines (SUBACK) are block-buffered on a pipe otherwise.
    const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let subscribed = false;
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith('Client ')) {
        if (line.includes('SUBACK')) subscribed = true;
        return;
      }
      if (line.startsWith('Subscribed (mid')) return;
      const i = line.indexOf(' ');
      const topic = i < 0 ? line : line.slice(0, i);
      const payload = i < 0 ? '' : line.slice(i + 1);
      this.messages.push({ topic, payload, json: () => JSON.parse(payload) as unknown });
    });
    await waitFor(() => subscribed, 10_000, `mosquitto_sub SUBACK for ${this.topics.join(', ')}`);
  }

  /** Waits for a message on `topic` (exact) that satisfies `match`, and returns it. */
  async next(
    topic: string,
    match: (m: ReceivedMessage) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<ReceivedMessage> {
    return waitFor(
      () => this.messages.find((m) => m.topic === topic && match(m)),
      timeoutMs,
      `a message on ${topic} (got: ${this.messages.map((m) => m.topic).join(', ') || 'nothing'})`,
    );
  }

  on(topic: string): ReceivedMessage[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  stop(): void {
    this.child?.kill('SIGTERM');
    this.child = undefined;
  }
}

export async function mosquittoPub(
  port: number,
  topic: string,
  payload: string,
  opts: { qos?: 0 | 1 | 2; retain?: boolean } = {},
): Promise<void> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-m', payload, '-q', String(opts.qos ?? 1)];
  if (opts.retain) args.push('-r');
  await execFileAsync('mosquitto_pub', args, { timeout: 10_000 });
}

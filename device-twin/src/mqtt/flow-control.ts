/**
 * Back-pressure for the twin's MQTT client. mqtt.js reads the next packet only after
 * `client.handleMessage` calls back; holding that callback while too many requests are being
 * processed or too many bytes wait to be written makes the broker keep the backlog instead of
 * this process's memory. (Own publishes waiting for their PUBACK cannot be a criterion: PUBACKs
 * are only read while reading goes on.)
 */
import type { MqttClient } from 'mqtt';

type HandleMessage = MqttClient['handleMessage'];

export interface FlowControlOptions {
  /** Requests received and not answered yet before reading pauses (default 2000). */
  maxInFlight?: number;
  /** Bytes queued for the socket before reading pauses (default 1 MiB). */
  maxBufferedBytes?: number;
}

export class FlowControl {
  private inFlight = 0;
  private held: (() => void)[] = [];
  private original: HandleMessage | undefined;
  private readonly maxInFlight: number;
  private readonly maxBuffered: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: MqttClient,
    opts: FlowControlOptions = {},
  ) {
    this.maxInFlight = opts.maxInFlight ?? 2000;
    this.maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
  }

  get pending(): number {
    return this.inFlight;
  }

  install(): void {
    if (this.original) return;
    // The client's own handler (mqtt.js acknowledges the packet when it calls back).
    const original = Reflect.get<MqttClient, 'handleMessage'>(this.client, 'handleMessage');
    this.original = original;
    this.client.handleMessage = (packet, callback) => {
      original.call(this.client, packet, (err?: Error) => {
        if (err || this.canRead()) {
          callback(err);
          return;
        }
        this.held.push(() => callback());
        // Requests finishing release the hold; the timer covers a socket that drains on its own.
        this.timer ??= setInterval(() => this.release(), 20);
      });
    };
  }

  uninstall(): void {
    if (!this.original) return;
    this.client.handleMessage = this.original;
    this.original = undefined;
    this.resumeAll();
  }

  private resumeAll(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const held = this.held;
    this.held = [];
    for (const go of held) go();
  }

  /** Counts a request until the returned promise settles. */
  track(work: Promise<unknown>): void {
    this.inFlight++;
    const done = () => {
      this.inFlight--;
      this.release();
    };
    work.then(done, done);
  }

  private buffered(): number {
    const s = this.client.stream as { writableLength?: number } | undefined;
    return s?.writableLength ?? 0;
  }

  private canRead(): boolean {
    return this.inFlight < this.maxInFlight && this.buffered() < this.maxBuffered;
  }

  private release(): void {
    if (this.held.length === 0) return;
    // Resume with some slack so reading does not flap at the threshold.
    if (this.inFlight > this.maxInFlight / 2 || this.buffered() > this.maxBuffered / 2) return;
    this.resumeAll();
  }
}

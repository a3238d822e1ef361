/**
 * Back-pressure for the twin's MQTT client. mqtt.js reads the next packet only after
 * `client.handleMessage` calls back; holding that callback while too many requests are being
 * processed or too many bytes wait to be written makes the broker keep the backlog instead of
 * this process's memory. (Own publishes waiting for their PUBACK cannot be a criterion: PUBACKs
 * are only read while reading goes on.) It also installs the socket write tuning (SocketWrites).
 */
import type { MqttClient } from 'mqtt';
import { SocketWrites } from './socket-writes.js';

type HandleMessage = MqttClient['handleMessage'];

export interface FlowControlOptions {
  /**
   * Requests received and not answered yet before reading pauses (default 256). This also bounds
   * the work done between two commits: every request read before the commit waits for it, so a
   * larger value means larger batches but a longer wait for the first request of each.
   */
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
  private readonly writes: SocketWrites;

  constructor(
    private readonly client: MqttClient,
    opts: FlowControlOptions = {},
  ) {
    this.maxInFlight = opts.maxInFlight ?? 256;
    this.maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
    this.writes = new SocketWrites(client, this.maxBuffered);
  }

  get pending(): number {
    return this.inFlight;
  }

  install(): void {
    if (this.original) return;
    this.writes.install();
    // The client's own handler (mqtt.js acknowledges the packet when it calls back).
    const original = Reflect.get<MqttClient, 'handleMessage'>(this.client, 'handleMessage');
    this.original = original;
    this.client.handleMessage = (packet, callback) => {
      this.writes.packetReceived();
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
    this.writes.uninstall();
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

  /** Counts a request until the returned promise settles (then calls `settled`). */
  track(work: Promise<unknown>, settled?: () => void): void {
    this.inFlight++;
    const done = () => {
      this.inFlight--;
      settled?.();
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

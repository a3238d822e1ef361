/**
 * Write tuning for the twin's MQTT socket, installed with FlowControl:
 *
 * - mqtt.js waits for the socket's 'drain' before it reads the next packet whenever a write (a
 *   PUBACK included) returns false, i.e. above the socket's 16 KiB default high-water mark. A
 *   burst of results passes that at once, so reading stalled on every burst. The high-water mark
 *   is raised to FlowControl's `maxBufferedBytes`, the bound enforced instead (again after each
 *   reconnect: a new socket).
 * - mqtt.js handles each received packet in its own tick and writes its PUBACK at once: one
 *   `writev` system call per request. Corking the socket while the packets of one read are being
 *   handled sends their PUBACKs (and anything else written meanwhile) in one write at the end of
 *   that burst, still before the event loop goes on (nothing waits for a timer).
 */
import type { Writable } from 'node:stream';
import type { MqttClient } from 'mqtt';

/** At most this many PUBACKs wait in a corked socket. */
const MAX_CORKED_PACKETS = 256;

type Corkable = Pick<Writable, 'cork' | 'uncork'>;

export class SocketWrites {
  private installed = false;
  /** The socket this class corked, and packet counts to see the end of a burst. */
  private corked: Corkable | undefined;
  private handled = 0;
  private corkedAt = 0;
  private checkedAt = 0;

  constructor(
    private readonly client: MqttClient,
    private readonly highWaterMark: number,
  ) {}

  install(): void {
    if (this.installed) return;
    this.installed = true;
    this.raiseHighWaterMark();
    this.client.on('connect', this.raiseHighWaterMark);
  }

  uninstall(): void {
    if (!this.installed) return;
    this.installed = false;
    this.client.off('connect', this.raiseHighWaterMark);
    this.uncorkNow();
  }

  /** Called for every received packet before mqtt.js acknowledges it. */
  packetReceived(): void {
    if (!this.installed) return;
    this.handled++;
    if (this.corked) {
      if (this.handled - this.corkedAt >= MAX_CORKED_PACKETS) this.uncorkNow();
      return;
    }
    const stream = this.client.stream as Partial<Corkable> | undefined;
    if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return;
    stream.cork();
    this.corked = stream as Corkable;
    this.corkedAt = this.handled;
    // The first check must come after mqtt.js queued the next packet's tick.
    this.checkedAt = this.handled - 1;
    process.nextTick(this.uncorkWhenIdle);
  }

  private readonly raiseHighWaterMark = (): void => {
    const stream = this.client.stream as { _writableState?: { highWaterMark?: number } } | undefined;
    const state = stream?._writableState;
    if (state && typeof state.highWaterMark === 'number' && state.highWaterMark < this.highWaterMark) {
      state.highWaterMark = this.highWaterMark;
    }
  };

  /** Uncorks once a whole tick went by without a new packet; otherwise checks again later. */
  private readonly uncorkWhenIdle = (): void => {
    if (!this.corked) return;
    if (this.handled !== this.checkedAt) {
      this.checkedAt = this.handled;
      process.nextTick(this.uncorkWhenIdle);
      return;
    }
    this.uncorkNow();
  };

  private uncorkNow(): void {
    const stream = this.corked;
    this.corked = undefined;
    stream?.uncork();
  }
}

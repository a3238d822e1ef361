/**
 * Is the broker still there, and still acknowledging? Two checks on one connection:
 * - keepalive: a PINGREQ every keepalive period; no PINGRESP by the next one means the connection
 *   is dead;
 * - PUBACK progress: QoS 1 messages waiting and not one PUBACK for `ackTimeoutMs` means the broker
 *   (or something between) stopped acknowledging, though it may still answer pings. Either way the
 *   connection is replaced, and the new one re-sends what was not acknowledged.
 */
import { MqttError } from './broker-url.js';

export interface LivenessOptions {
  keepaliveMs: number;
  ackTimeoutMs: number;
  /** QoS 1 messages sent and not acknowledged. */
  unacked: () => number;
  sendPing: () => void;
  /** The connection is dead: replace it. */
  fail: (err: MqttError) => void;
}

export class Liveness {
  private pingTimer: NodeJS.Timeout | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private awaitingPingresp = false;
  private lastProgress = 0;

  constructor(private readonly opts: LivenessOptions) {}

  start(): void {
    this.stop();
    this.awaitingPingresp = false;
    this.lastProgress = performance.now();
    this.pingTimer = setInterval(() => {
      if (this.awaitingPingresp) {
        this.opts.fail(new MqttError(`no PINGRESP within ${this.opts.keepaliveMs / 1000} s`));
        return;
      }
      this.awaitingPingresp = true;
      this.opts.sendPing();
    }, this.opts.keepaliveMs);
    this.pingTimer.unref();
    const every = Math.max(100, Math.min(1000, this.opts.ackTimeoutMs / 4));
    this.ackTimer = setInterval(() => this.checkAcks(), every);
    this.ackTimer.unref();
  }

  stop(): void {
    clearInterval(this.pingTimer);
    clearInterval(this.ackTimer);
    this.pingTimer = undefined;
    this.ackTimer = undefined;
  }

  pingresp(): void {
    this.awaitingPingresp = false;
  }

  /** A PUBACK arrived. */
  progress(): void {
    this.lastProgress = performance.now();
  }

  private checkAcks(): void {
    const now = performance.now();
    const waiting = this.opts.unacked();
    if (waiting === 0) {
      this.lastProgress = now;
      return;
    }
    if (now - this.lastProgress >= this.opts.ackTimeoutMs) {
      this.opts.fail(
        new MqttError(
          `no PUBACK within ${this.opts.ackTimeoutMs / 1000} s while ${waiting} QoS 1 messages wait for one; replacing the connection`,
        ),
      );
    }
  }
}

/**
 * Flow control of the messages a connection receives. Each one is handed to the handler with a
 * `done` callback; handing stops (the messages read meanwhile are held, in order) while
 * - `maxInFlight` handed messages are not done yet, or
 * - the outgoing side is full: publishes wait for a place in the window, or `maxBufferedBytes`
 *   wait to be written,
 * and resumes with some slack, so it does not flap at the threshold. Reading the socket goes on
 * while handing is stopped: PUBACKs and PINGRESPs must still come in, or a full window would never
 * empty. It pauses when `maxHeld` messages are held, and the broker then holds the rest; except
 * while only the outgoing side is full, when the PUBACKs that would empty it may be queued behind
 * the messages the broker sent: reading then goes on up to 8 x `maxHeld` held messages (Mosquitto
 * 2.0 does not always keep to its `max_inflight_messages`, and a client subscribed to its own
 * topics gets one message back per PUBACK). At that bound the oldest held messages are handed
 * anyway, so the PUBACKs behind them are read, as long as fewer than 16 x `window` publishes
 * queue for the window; past that too the socket pauses, and if no PUBACK comes for the
 * connection's `ackTimeoutMs` the connection is replaced (liveness.ts). Memory stays bounded
 * either way: at most 8 x `maxHeld` messages held and 16 x `window` (plus what one handed message
 * publishes) queued. None of this is needed when the answers leave on another connection
 * (`outgoing`, as edgecore does): its PUBACKs never wait behind requests, and the reader simply
 * pauses at `maxHeld`.
 *
 * A QoS 1 message is acknowledged (PUBACK) when its handler calls `done`, not when it arrives: a
 * request is acknowledged only after its answer was handed to the window, so what the broker
 * regards as delivered has been dealt with, and a broker's in-flight limit (Mosquitto's
 * `max_inflight_messages`) bounds what it sends ahead.
 */
import type { IncomingPacket } from './codec.js';

export type PublishPacket = Extract<IncomingPacket, { type: 3 }>;

/** Receives a message; call `done` when it has been handled (it frees a place for the next one). */
export type MessageHandler = (topic: string, payload: Buffer, done: () => void) => void;

export interface InboundOptions {
  maxInFlight: number;
  maxBufferedBytes: number;
  maxHeld: number;
  window: number;
  /**
   * The PUBACKs that empty the window come on this connection (its own window): read on past
   * `maxHeld` while only the window is full. False when the answers leave on another connection.
   */
  readAhead: boolean;
  /** The outgoing side: publishes waiting for the window, sent and not acknowledged, bytes not written. */
  outgoing: () => { queued: number; unacked: number; writable: number };
  /** PUBACK when the handler is done (default), or as soon as a message is read. */
  ackWhen: 'done' | 'read';
  /** Sends the PUBACK of `packetId` if connection `generation` is still the current one. */
  acknowledge: (packetId: number, generation: number) => void;
  /** Something was done: handing (and reading) may resume. */
  wake: () => void;
}

interface Held {
  p: PublishPacket;
  generation: number;
}

export class Inbound {
  handler: MessageHandler | undefined;
  private inFlight = 0;
  private held: (Held | undefined)[] = [];
  private heldHead = 0;
  private stopped = false;
  /** Largest number of messages held so far, and of handed ones not done. */
  peakHeld = 0;
  peakInFlight = 0;

  constructor(private readonly opts: InboundOptions) {}

  get inFlightCount(): number {
    return this.inFlight;
  }

  get heldCount(): number {
    return this.held.length - this.heldHead;
  }

  /** Whether the socket may be read further. */
  get canRead(): boolean {
    const held = this.heldCount;
    if (held < this.opts.maxHeld) return true;
    // Handlers finish on their own; a full window needs the PUBACKs that may be further on.
    return this.opts.readAhead && this.inFlight < this.opts.maxInFlight && held < this.opts.maxHeld * 8;
  }

  /** A PUBLISH read on connection `generation`: handed now, or held behind the others. */
  receive(p: PublishPacket, generation: number): void {
    if (p.qos === 1 && this.opts.ackWhen === 'read') this.opts.acknowledge(p.packetId, generation);
    if (this.heldCount > 0 || this.mustStop()) {
      this.held.push({ p, generation });
      if (this.heldCount > this.peakHeld) this.peakHeld = this.heldCount;
      if (this.heldCount >= this.opts.maxHeld * 8) this.flush();
      return;
    }
    this.hand(p, generation);
  }

  /** Hands the held messages while the flow allows. */
  flush(): void {
    while (this.heldHead < this.held.length && !this.mustStop()) {
      const h = this.held[this.heldHead]!;
      this.held[this.heldHead++] = undefined;
      this.hand(h.p, h.generation);
    }
    if (this.heldHead === this.held.length) {
      this.held = [];
      this.heldHead = 0;
    }
  }

  private hand(p: PublishPacket, generation: number): void {
    const handler = this.handler;
    if (!handler) {
      if (p.qos === 1 && this.opts.ackWhen === 'done') this.opts.acknowledge(p.packetId, generation);
      return;
    }
    this.inFlight++;
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
    let finished = false;
    handler(p.topic, p.payload, () => {
      if (finished) return;
      finished = true;
      this.inFlight--;
      if (p.qos === 1 && this.opts.ackWhen === 'done') this.opts.acknowledge(p.packetId, generation);
      this.opts.wake();
    });
  }

  private mustStop(): boolean {
    const o = this.opts.outgoing();
    const { maxInFlight, maxBufferedBytes, window, maxHeld } = this.opts;
    if (
      this.opts.readAhead &&
      this.heldCount >= maxHeld * 8 &&
      this.inFlight < maxInFlight &&
      o.writable < maxBufferedBytes &&
      o.queued < window * 16
    ) {
      return false; // only the window is full: read on to its PUBACKs (see above)
    }
    if (this.stopped) {
      this.stopped = !(
        this.inFlight <= maxInFlight / 2 &&
        o.writable <= maxBufferedBytes / 2 &&
        o.queued === 0 &&
        o.unacked <= (window * 3) / 4
      );
    } else {
      this.stopped = this.inFlight >= maxInFlight || o.writable >= maxBufferedBytes || o.queued > 0;
    }
    return this.stopped;
  }
}

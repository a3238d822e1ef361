/**
 * A TCP proxy between an MQTT client and a real broker that can stop the broker's PUBACKs from
 * reaching the client: a broker that stops acknowledging, as seen by the client. Client -> broker
 * bytes pass untouched; broker -> client bytes are split into MQTT packets and every PUBACK
 * (type 4) is forwarded, withheld (kept, sent on `release()`) or dropped, by `mode`.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from '@edgetwin/sdk/testing';

export type PubackMode = 'forward' | 'withhold' | 'drop';

/** Splits a byte stream into whole MQTT packets (fixed header + remaining length). */
class Framer {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      let len = 0;
      let mult = 1;
      let i = 1;
      let complete = false;
      for (; i < this.buf.length && i <= 4; i++) {
        const b = this.buf[i]!;
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) break;
      const total = i + 1 + len;
      if (this.buf.length < total) break;
      out.push(this.buf.subarray(0, total));
      this.buf = this.buf.subarray(total);
    }
    return out;
  }
}

interface Pair {
  client: Socket;
  broker: Socket;
  withheld: Buffer[];
}

export class PubackProxy {
  mode: PubackMode = 'forward';
  /** PUBACKs dropped or withheld so far. */
  stopped = 0;
  connections = 0;
  private server: Server | undefined;
  private readonly pairs = new Set<Pair>();
  port = 0;

  constructor(private readonly brokerPort: number) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port = await freePort();
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    return this;
  }

  /** Sends the withheld PUBACKs and forwards from now on. */
  release(): void {
    this.mode = 'forward';
    for (const p of this.pairs) {
      for (const packet of p.withheld) p.client.write(packet);
      p.withheld = [];
    }
  }

  /** Cuts every connection (the client sees the broker go away); withheld PUBACKs are lost. */
  cutAll(): void {
    for (const p of this.pairs) {
      p.client.destroy();
      p.broker.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    this.connections++;
    const broker = connect(this.brokerPort, '127.0.0.1');
    const pair: Pair = { client, broker, withheld: [] };
    this.pairs.add(pair);
    const framer = new Framer();
    client.pipe(broker);
    broker.on('data', (chunk: Buffer) => {
      for (const packet of framer.push(chunk)) {
        if (packet[0]! >> 4 !== 4 || this.mode === 'forward') client.write(packet);
        else {
          this.stopped++;
          if (this.mode === 'withhold') pair.withheld.push(packet);
        }
      }
    });
    const close = () => {
      client.destroy();
      broker.destroy();
      this.pairs.delete(pair);
    };
    client.on('close', close);
    broker.on('close', close);
    client.on('error', close);
    broker.on('error', close);
  }
}

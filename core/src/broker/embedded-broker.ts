/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) on a loopback TCP port. Used when edgecore is not
 * pointed at an external broker with --mqtt-url.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from 'pino';
import { EdgeTwinError, disableMqttPacketIdCache } from '@edgetwin/sdk';

export interface EmbeddedBrokerOptions {
  port: number;
  host?: string;
  logger: Logger;
}

export class EmbeddedBroker {
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port: number;

  constructor(private readonly opts: EmbeddedBrokerOptions) {
    this.port = opts.port;
  }

  get url(): string {
    return `mqtt://${this.opts.host ?? '127.0.0.1'}:${this.port}`;
  }

  async start(): Promise<void> {
    disableMqttPacketIdCache(); // aedes writes with mqtt-packet: 6.5 MB of heap saved
    const aedes = await Aedes.createBroker();
    this.aedes = aedes;
    aedes.on('clientError', (client, err) =>
      this.opts.logger.debug({ client: client.id, err: err.message }, 'mqtt client error'),
    );
    const server = createServer((socket) => {
      // Requests and answers are small and someone waits for each: without this, Nagle's
      // algorithm and the peer's delayed ACK hold them back ~40 ms (closed-loop p50 was ~50 ms).
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      aedes.handle(socket);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new EdgeTwinError(
                'ET_CONFIG_INVALID',
                `MQTT port ${this.opts.port} is already in use; stop what uses it, pick another with --mqtt-port, or use that broker with --mqtt-url`,
                { cause: err },
              )
            : err,
        ),
      );
      server.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        const addr = server.address();
        if (addr && typeof addr === 'object') this.port = addr.port;
        resolve();
      });
    });
    this.opts.logger.info({ url: this.url }, 'embedded MQTT broker listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      for (const s of this.sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const aedes = this.aedes;
    this.aedes = undefined;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
  }
}

/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) on a loopback TCP port, and optionally a TLS
 * listener (with client certificates when a CA is given). Used when edgecore is not pointed at an
 * external broker with --mqtt-url. `access` authenticates clients and applies the ACLs; without it
 * the broker is open (tests of the broker alone).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes } from 'aedes';
import type { Logger } from 'pino';
import { EdgeTwinError } from '@edgetwin/sdk';
import { disableMqttPacketIdCache } from './mqtt-packet-memory.js';
import type { BrokerAccess } from '../security/broker-access.js';

export interface BrokerTlsOptions {
  port: number;
  host?: string;
  /** PEM server certificate and key. */
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM CA whose client certificates are accepted; a client then may present one instead of a password. */
  ca?: string | Buffer;
}

export interface EmbeddedBrokerOptions {
  port: number;
  host?: string;
  logger: Logger;
  access?: BrokerAccess;
  tls?: BrokerTlsOptions;
}

export class EmbeddedBroker {
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  private tlsServer: Server | undefined;
  /** The TLS listener's port, once started (0 without TLS). */
  tlsPort = 0;
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
    this.opts.access?.install(aedes);
    const onSocket = (socket: Socket) => {
      // Requests and answers are small and someone waits for each: without this, Nagle's
      // algorithm and the peer's delayed ACK hold them back ~40 ms (closed-loop p50 was ~50 ms).
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      aedes.handle(socket);
    };
    this.server = createServer(onSocket);
    this.port = await listen(this.server, this.opts.port, this.opts.host ?? '127.0.0.1', '--mqtt-port');
    this.opts.logger.info({ url: this.url, auth: this.opts.access !== undefined }, 'embedded MQTT broker listening');
    const tls = this.opts.tls;
    if (tls) {
      this.tlsServer = createTlsServer(
        {
          cert: tls.cert,
          key: tls.key,
          ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: false } : {}),
        },
        (socket) => {
          // A client certificate that does not verify against the CA is refused outright.
          if (tls.ca && socket.authorizationError && socket.getPeerCertificate()?.subject) {
            socket.destroy();
            return;
          }
          onSocket(socket);
        },
      );
      this.tlsPort = await listen(
        this.tlsServer,
        tls.port,
        tls.host ?? this.opts.host ?? '127.0.0.1',
        '--mqtt-tls-port',
      );
      this.opts.logger.info({ url: this.tlsUrl }, 'embedded MQTT broker listening for TLS');
    }
  }

  get tlsUrl(): string | undefined {
    return this.tlsPort ? `mqtts://${this.opts.tls?.host ?? this.opts.host ?? '127.0.0.1'}:${this.tlsPort}` : undefined;
  }

  async stop(): Promise<void> {
    const servers = [this.server, this.tlsServer].filter((s): s is Server => s !== undefined);
    this.server = undefined;
    this.tlsServer = undefined;
    for (const s of this.sockets) s.destroy();
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    const aedes = this.aedes;
    this.aedes = undefined;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
  }
}

/** Listens and resolves the bound port; a port in use is a configuration error naming `flag`. */
async function listen(server: Server, port: number, host: string, flag: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new EdgeTwinError(
              'ET_CONFIG_INVALID',
              `MQTT port ${port} is already in use; stop what uses it, pick another with ${flag}, or use that broker with --mqtt-url`,
              { cause: err },
            )
          : err,
      ),
    );
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      const addr = server.address();
      resolve(addr && typeof addr === 'object' ? addr.port : port);
    });
  });
}

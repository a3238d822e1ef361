/**
 * The template mapper: a complete mapper for "counter", a made-up line protocol over TCP.
 *   request  `GET <register>\n`          reply `OK <integer>\n` or `ERR <reason>\n`
 *   request  `SET <register> <integer>\n` reply `OK <integer read back>\n` or `ERR <reason>\n`
 * Layers, bottom up: transport (LineClient: lines over a socket), codec (parseReply), driver.
 * Copy this file to start a mapper for a new protocol; see README.md.
 */
import { createConnection, type Socket } from 'node:net';
import { Type } from '@sinclair/typebox';
import { EdgeTwinError, formatValue } from '@edgetwin/sdk';
import { defineMapper, type Reading } from '@edgetwin/sdk/mapper';

/** spec.protocol.configData (merged with the model's protocolConfigData). */
export const CounterProtocolConfig = Type.Object({
  host: Type.String({ default: '127.0.0.1', description: 'Host of the counter device.' }),
  port: Type.Integer({ minimum: 1, maximum: 65535, description: 'TCP port of the counter device.' }),
});

/** spec.properties[].visitors.configData: which register holds the property. */
export const CounterVisitorConfig = Type.Object({
  register: Type.String({ pattern: '^[a-z][a-z0-9_]*$', description: 'Register name, e.g. "count".' }),
});

// ---- transport: one request line, one reply line, one request at a time ----

interface Waiter {
  resolve(line: string): void;
  reject(err: Error): void;
}

class LineClient {
  private buffer = '';
  private readonly waiters: Waiter[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private closing = false;

  constructor(
    private readonly socket: Socket,
    onLost: (err: Error) => void,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        this.waiters.shift()?.resolve(line);
      }
    });
    socket.on('error', () => undefined); // 'close' follows and says it
    socket.on('close', () => {
      const err = new EdgeTwinError('ET_UNAVAILABLE', 'the counter device closed the connection');
      for (const w of this.waiters.splice(0)) w.reject(err);
      if (!this.closing) onLost(err);
    });
  }

  static open(host: string, port: number, signal: AbortSignal): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host, port, signal });
      socket.once('connect', () => resolve(socket));
      socket.once('error', (err) =>
        reject(
          new EdgeTwinError('ET_UNAVAILABLE', `cannot reach the counter device at ${host}:${port}: ${err.message}`),
        ),
      );
    });
  }

  request(line: string, signal: AbortSignal): Promise<string> {
    const run = this.queue.then(
      () =>
        new Promise<string>((resolve, reject) => {
          signal.throwIfAborted();
          // A late reply would answer the wrong request: drop the connection instead.
          const onAbort = () => this.socket.destroy();
          signal.addEventListener('abort', onAbort, { once: true });
          const done = () => signal.removeEventListener('abort', onAbort);
          this.waiters.push({ resolve: (l) => (done(), resolve(l)), reject: (e) => (done(), reject(e)) });
          this.socket.write(`${line}\n`);
        }),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.closing = true;
    this.socket.destroy();
  }
}

// ---- codec: reply lines to values ----

function parseReply(reply: string, request: string): Reading {
  const [status, ...rest] = reply.trim().split(' ');
  const value = Number(rest[0]);
  if (status === 'OK' && Number.isInteger(value)) return { value };
  throw new EdgeTwinError(
    'ET_PROTOCOL',
    `counter device answered ${JSON.stringify(reply)} to ${JSON.stringify(request)}`,
    {
      details: { status: status === 'ERR' ? rest.join(' ') : reply },
    },
  );
}

// ---- the mapper ----

export const counterMapper = defineMapper({
  protocol: 'counter',
  protocolConfigSchema: CounterProtocolConfig,
  visitorConfigSchema: CounterVisitorConfig,
  defaults: { collectCycleMs: 1000 },
  createDriver: () => ({
    async connect(device, hooks, signal) {
      const client = new LineClient(await LineClient.open(device.protocol.host, device.protocol.port, signal), (err) =>
        hooks.onLost(err),
      );
      const ask = async (line: string, s: AbortSignal) => parseReply(await client.request(line, s), line);
      return {
        async read(properties, s) {
          const out = new Map<string, Reading | Error>();
          for (const p of properties) {
            out.set(p.name, await ask(`GET ${p.visitor.register}`, s).catch((err: Error) => err));
          }
          return out;
        },
        write: (p, value, s) => ask(`SET ${p.visitor.register} ${formatValue(value)}`, s),
        close: () => Promise.resolve(client.close()),
      };
    },
    stop: () => Promise.resolve(), // nothing shared between devices: each session owns its socket
  }),
});

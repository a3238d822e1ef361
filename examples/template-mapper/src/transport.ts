/**
 * Transport (bytes): lines over one TCP socket, one request at a time. Every request takes an
 * AbortSignal; when it fires the connection is dropped, so a late reply never answers the next one.
 */
import { createConnection, type Socket } from 'node:net';
import { EdgeTwinError } from '@edgetwin/sdk';

interface Waiter {
  resolve(line: string): void;
  reject(err: Error): void;
}

export class LineClient {
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

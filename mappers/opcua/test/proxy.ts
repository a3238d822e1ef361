/** A loopback TCP proxy whose link can be cut silently (packets dropped, no RST), like a pulled cable. */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface CuttableProxy {
  port: number;
  /** Drops every byte in both directions from now on, without closing anything. */
  cut(): void;
  /** Forwards again for new connections; the connections cut before are destroyed. */
  heal(): void;
  stop(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<CuttableProxy> {
  let cutNow = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.on('data', (d: Buffer) => {
      if (!cutNow) upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (!cutNow) client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    cut() {
      cutNow = true;
    },
    heal() {
      for (const s of sockets) s.destroy();
      cutNow = false;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

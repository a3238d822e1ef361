/**
 * Modbus TCP framing for the simulator: MBAP header (transaction id, protocol 0, length, unit id)
 * around each PDU. A unit id with no slave, or a muted slave, gets no answer (like a dead device
 * behind a gateway), so masters see a timeout.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { SimSlave } from './slave.js';

export interface TcpServerHandle {
  port: number;
  close(): Promise<void>;
}

export async function startTcpServer(
  slaves: ReadonlyMap<number, SimSlave>,
  port: number,
  host: string,
): Promise<TcpServerHandle> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 7) {
        const len = buf.readUInt16BE(4);
        if (len < 2 || len > 254) {
          socket.destroy();
          return;
        }
        if (buf.length < 6 + len) break;
        const frame = buf.subarray(0, 6 + len);
        buf = buf.subarray(6 + len);
        const unit = frame[6] ?? 0;
        // Unit 0 and 255 address "the device" on TCP: answer with the first slave.
        const slave = slaves.get(unit) ?? (unit === 0 || unit === 255 ? slaves.values().next().value : undefined);
        const answer = slave?.handle(Buffer.from(frame.subarray(7)));
        if (!answer) continue;
        const header = Buffer.alloc(7);
        frame.copy(header, 0, 0, 4);
        header.writeUInt16BE(answer.length + 1, 4);
        header[6] = unit;
        const reply = Buffer.concat([header, answer]);
        if (slave && slave.delayMs > 0) setTimeout(() => socket.writable && socket.write(reply), slave.delayMs).unref();
        else socket.write(reply);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

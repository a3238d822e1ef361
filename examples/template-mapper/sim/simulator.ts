/**
 * A counter device for the template mapper: a TCP server speaking the counter line protocol.
 * Register `count` (read-only) grows by `step` (read-write, 0..100) every `tickMs`.
 */
import { createServer, type Socket } from 'node:net';

export interface CounterSimulator {
  port: number;
  /** Current register values. */
  registers(): Record<string, number>;
  stop(): Promise<void>;
}

export async function startCounterSimulator(
  opts: { port?: number; tickMs?: number; host?: string } = {},
): Promise<CounterSimulator> {
  const regs = new Map<string, number>([
    ['count', 0],
    ['step', 1],
  ]);
  const readOnly = new Set(['count']);
  const sockets = new Set<Socket>();
  const ticker = setInterval(() => regs.set('count', regs.get('count')! + regs.get('step')!), opts.tickMs ?? 200);

  const answer = (line: string): string => {
    const [cmd, reg = '', arg] = line.trim().split(/\s+/);
    const value = regs.get(reg);
    if (value === undefined) return `ERR no register ${reg}`;
    if (cmd === 'GET') return `OK ${value}`;
    if (cmd !== 'SET') return `ERR unknown command ${cmd}`;
    if (readOnly.has(reg)) return `ERR register ${reg} is read-only`;
    const n = Number(arg);
    if (!Number.isInteger(n) || n < 0 || n > 100) return `ERR ${reg} takes an integer 0..100`;
    regs.set(reg, n);
    return `OK ${n}`;
  };

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setEncoding('utf8');
    let buffer = '';
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        socket.write(`${answer(buffer.slice(0, i))}\n`);
        buffer = buffer.slice(i + 1);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    registers: () => Object.fromEntries(regs),
    stop: () =>
      new Promise<void>((resolve) => {
        clearInterval(ticker);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

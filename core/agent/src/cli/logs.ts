/**
 * `edgetwin logs POD [-c CONTAINER] [-f] [-p] [-n NAMESPACE] [--data-dir DIR]`
 *
 * Prints a container's log from the agent's state (read-only, works while edgecore runs or not).
 * containerd logs are in CRI format and are printed without their timestamp/stream prefix; the
 * process runtime's logs are raw. `-f` follows the log, across container restarts, until Ctrl-C.
 * `-p` prints the previous (crashed) container's log.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { agentPaths } from '../paths.js';
import { AgentStore } from '../store.js';
import { type CliIo, defaultIo, parseSingleArgCommand } from './io.js';

const USAGE =
  'usage: edgetwin logs POD [-c CONTAINER] [-f] [-p] [-n NAMESPACE] [--data-dir DIR (default .data/edgecore, as edgecore)]';

/** Turns CRI log lines (`<time> <stream> <P|F> <text>`) into plain text; keeps a partial tail. */
export class CriLogDecoder {
  private rest = '';
  decode(chunk: string): string {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    let out = '';
    for (const line of lines) {
      const a = line.indexOf(' ');
      const b = line.indexOf(' ', a + 1);
      const c = line.indexOf(' ', b + 1);
      if (a < 0 || b < 0) {
        out += `${line}\n`;
        continue;
      }
      const tag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
      const msg = c < 0 ? '' : line.slice(c + 1);
      out += tag === 'P' ? msg : `${msg}\n`;
    }
    return out;
  }
}

interface Target {
  logPath: string | undefined;
  format: 'cri' | 'raw';
}

function findTarget(store: AgentStore, key: string, container: string | undefined, previous: boolean): Target | string {
  const pod = store.pod(key);
  if (!pod) return `pod ${key} is not on this node (see the pods directory or the cloud)`;
  const containers = store.containers(key);
  const names = pod.pod.spec.containers.map((c) => c.name);
  const name = container ?? (names.length === 1 ? names[0] : undefined);
  if (!name) return `pod ${key} has several containers; choose one with -c: ${names.join(', ')}`;
  if (!names.includes(name)) return `pod ${key} has no container "${name}"; it has ${names.join(', ')}`;
  const c = containers.find((x) => x.name === name);
  let logPath = c?.logPath;
  if (previous) {
    if (!c || c.restartCount === 0 || !logPath)
      return `container ${name} of pod ${key} has not restarted; there is no previous log`;
    logPath = join(dirname(logPath), `${c.restartCount - 1}.log`);
  }
  return { logPath, format: pod.runtime === 'containerd' ? 'cri' : 'raw' };
}

export async function logsCommand(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const parsed = parseSingleArgCommand(
    argv,
    {
      container: { type: 'string', short: 'c' },
      follow: { type: 'boolean', short: 'f', default: false },
      previous: { type: 'boolean', short: 'p', default: false },
      namespace: { type: 'string', short: 'n', default: 'default' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, arg: podArg } = parsed;
  const key = podArg.includes('/') ? podArg : `${values.namespace}/${podArg}`;
  const dataDir = values['data-dir'] ?? process.env.EDGETWIN_DATA_DIR ?? '.data/edgecore';
  const db = agentPaths(dataDir).db;
  if (!existsSync(db)) {
    io.stderr.write(`logs: no pod agent state at ${db}; pass --data-dir (edgecore's data directory)\n`);
    return 1;
  }
  const store = new AgentStore(db, { readonly: true });
  try {
    const first = findTarget(store, key, values.container, values.previous);
    if (typeof first === 'string') {
      io.stderr.write(`logs: ${first}\n`);
      return 1;
    }
    if (!values.follow) {
      if (!first.logPath || !existsSync(first.logPath)) {
        io.stderr.write(`logs: the container has not written a log yet\n`);
        return 1;
      }
      const decoder = first.format === 'cri' ? new CriLogDecoder() : undefined;
      readFrom(first.logPath, 0, (t) => io.stdout.write(decoder ? decoder.decode(t) : t));
      return 0;
    }
    await follow(store, key, values.container, first, io);
    return 0;
  } finally {
    store.close();
  }
}

/** Reads `file` from `offset` to its end, in chunks; returns the new offset. */
function readFrom(file: string, offset: number, out: (text: string) => void): number {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return offset;
  }
  try {
    const size = statSync(file).size;
    if (size < offset) offset = 0; // truncated or rotated
    const buf = Buffer.alloc(64 * 1024);
    while (offset < size) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - offset), offset);
      if (n <= 0) break;
      out(buf.subarray(0, n).toString('utf8'));
      offset += n;
    }
    return offset;
  } finally {
    closeSync(fd);
  }
}

async function follow(
  store: AgentStore,
  key: string,
  container: string | undefined,
  first: Target,
  io: CliIo,
): Promise<void> {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  const signal = io.signal ?? controller.signal;
  if (!io.signal) process.once('SIGINT', onSigint);
  let target = first;
  let offset = 0;
  let decoder = target.format === 'cri' ? new CriLogDecoder() : undefined;
  try {
    while (!signal.aborted) {
      if (target.logPath)
        offset = readFrom(target.logPath, offset, (t) => io.stdout.write(decoder ? decoder.decode(t) : t));
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
      const next = findTarget(store, key, container, false);
      if (typeof next === 'string') {
        io.stderr.write(`logs: ${next}\n`);
        return;
      }
      if (next.logPath !== target.logPath) {
        if (target.logPath) readFrom(target.logPath, offset, (t) => io.stdout.write(decoder ? decoder.decode(t) : t));
        target = next;
        offset = 0;
        decoder = target.format === 'cri' ? new CriLogDecoder() : undefined;
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/**
 * `edgetwin images import FILE [--containerd-address SOCKET] [--namespace NS] [--timeout SECONDS]`
 *
 * Loads an OCI (or Docker) image archive into containerd for nodes without a registry. CRI has no
 * import call, so this runs the `ctr` binary shipped with Debian's containerd package:
 * `ctr -a SOCKET -n k8s.io images import FILE` (k8s.io is the namespace the CRI plugin reads).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DEFAULT_CONTAINERD_ADDRESS } from '../paths.js';
import { type CliIo, defaultIo, parseSingleArgCommand } from './io.js';

const USAGE =
  'usage: edgetwin images import FILE [--containerd-address SOCKET] [--namespace k8s.io] [--timeout SECONDS]';

export async function imagesImportCommand(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const parsed = parseSingleArgCommand(
    argv,
    {
      'containerd-address': { type: 'string' },
      namespace: { type: 'string', default: 'k8s.io' },
      timeout: { type: 'string', default: '300' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, arg: file } = parsed;
  if (!existsSync(file)) {
    io.stderr.write(`images import: ${file} does not exist\n`);
    return 1;
  }
  const address = values['containerd-address'] ?? process.env.CONTAINERD_ADDRESS ?? DEFAULT_CONTAINERD_ADDRESS;
  const namespace = values.namespace;
  const timeoutMs = Number(values.timeout) * 1000;
  io.stdout.write(`importing ${file} into containerd ${address} (namespace ${namespace}) with ctr\n`);
  const args = ['-a', address, '-n', namespace, 'images', 'import', file];
  return new Promise<number>((resolve) => {
    const child = spawn('ctr', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    child.stdout.on('data', (d: Buffer) => io.stdout.write(d));
    child.stderr.on('data', (d: Buffer) => io.stderr.write(d));
    child.on('error', (err) => {
      const hint =
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? " (install Debian's containerd package, which ships ctr)"
          : '';
      io.stderr.write(`images import: cannot run ctr: ${err.message}${hint}\n`);
      resolve(1);
    });
    child.on('close', (code, signal) => {
      if (signal) {
        io.stderr.write(`images import: ctr was stopped (${signal}) after ${timeoutMs / 1000} s\n`);
        resolve(1);
      } else if (code === 0) {
        io.stdout.write(`imported ${file}\n`);
        resolve(0);
      } else {
        io.stderr.write(`images import: ctr exited with ${code ?? '?'}; is containerd running at ${address}?\n`);
        resolve(1);
      }
    });
  });
}

/** `edgetwin images SUBCOMMAND ...`: only `import` for now. */
export async function imagesCommand(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'import') return imagesImportCommand(rest, io);
  if (sub === '--help' || sub === '-h') {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  io.stderr.write(`${sub ? `unknown images command "${sub}"\n` : ''}${USAGE}\n`);
  return 2;
}

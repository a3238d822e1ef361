/**
 * Starts Debian's containerd for a test with everything private under a temp dir (root, state,
 * socket, config.toml), and a locally built pause image as the sandbox image (no registry here).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopProcess, waitFor } from '@edgetwin/sdk/testing';
import { imagesCommand } from '../cli/images-import.js';
import { writeBusyboxImage } from './oci-image.js';

export const PAUSE_IMAGE = 'docker.io/edgetwin/pause:1';
export const BUSYBOX_IMAGE = 'docker.io/edgetwin/busybox:1';

export interface RunningContainerd {
  dir: string;
  socket: string;
  process: ChildProcess;
  output(): string;
  /** Imports an OCI archive with the CLI command under test; returns its exit code and output. */
  importImage(file: string): Promise<{ code: number; out: string }>;
  stop(): Promise<void>;
}

/** Starts containerd in `opts.dir` (default: a new temp dir); its socket is `<dir>/containerd.sock`. */
export async function startContainerd(opts: { dir?: string } = {}): Promise<RunningContainerd> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'edgetwin-containerd-'));
  const socket = join(dir, 'containerd.sock');
  mkdirSync(join(dir, 'cni', 'conf'), { recursive: true });
  mkdirSync(join(dir, 'cni', 'bin'), { recursive: true });
  const config = `version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[debug]
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  disable_tcp_service = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${dir}/cni/bin"
    conf_dir = "${dir}/cni/conf"
`;
  writeFileSync(join(dir, 'config.toml'), config);
  const child = spawn('containerd', ['--config', join(dir, 'config.toml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  try {
    await waitFor(() => existsSync(socket) || child.exitCode !== null, 30_000, 'containerd socket');
    if (child.exitCode !== null) throw new Error(`containerd exited with ${child.exitCode}`);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`containerd did not start: ${output.slice(-2000)}`, { cause: err });
  }
  const importImage = async (file: string) => {
    let out = '';
    const sink = { write: (c: string | Buffer) => (out += c.toString()) };
    const code = await imagesCommand(['import', file, '--containerd-address', socket], { stdout: sink, stderr: sink });
    return { code, out };
  };
  const pause = join(dir, 'pause.tar');
  writeBusyboxImage(pause, PAUSE_IMAGE, [
    '/bin/sh',
    '-c',
    "trap 'exit 0' TERM INT; while true; do sleep 3600 & wait; done",
  ]);
  const r = await importImage(pause);
  if (r.code !== 0) throw new Error(`could not import the pause image: ${r.out}`);
  return {
    dir,
    socket,
    process: child,
    output: () => output,
    importImage,
    stop: async () => {
      await stopProcess(child, 10_000);
      // Shims outlive containerd; the tests delete their pods first, so only stray shims remain.
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

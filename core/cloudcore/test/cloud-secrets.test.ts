/**
 * Secrets stay out of logs, argv and inherited environments, with the commands a user runs:
 * `edgetwin cloud` over TLS, `edgetwin cloud token create`, and `edgetwin edge` given the join
 * token in EDGETWIN_JOIN_TOKEN, which starts a real Modbus mapper process. Neither daemon's log
 * (at debug level on the edge) holds the join token or a private key, and no process edgecore
 * starts has the token in its command line (`ps`) or its environment.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor, type KubeTestCluster } from '@edgetwin/sdk/testing';
import { deviceYaml, modelYaml, removeTempDirs, repoRoot, startCluster, tempDir } from './harness.js';
import { serverCert } from './openssl.js';

const run = promisify(execFile);
const CLI = join(repoRoot, 'core/bin/edgetwin.js');

interface Daemon {
  child: ChildProcess;
  output: () => string;
}

function daemon(args: string[], env: NodeJS.ProcessEnv = {}): Daemon {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

async function stop(d: Daemon | undefined): Promise<void> {
  const c = d?.child;
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await exited;
}

/** `ps` rows (pid, ppid, args) of `pid` and all its descendants. */
async function processTree(pid: number): Promise<Array<{ pid: number; args: string }>> {
  const { stdout } = await run('ps', ['-eo', 'pid=,ppid=,args=', '-ww']);
  const rows = stdout
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .flatMap((m) => (m ? [{ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }] : []));
  const tree = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const r of rows)
      if (tree.has(r.ppid) && !tree.has(r.pid)) {
        tree.add(r.pid);
        grew = true;
      }
  }
  return rows.filter((r) => tree.has(r.pid));
}

const keyBody = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----'))[0]!;

describe('secrets in logs, argv and environments', () => {
  let kube: KubeTestCluster | string;
  let cloud: Daemon | undefined;
  let edge: Daemon | undefined;
  let dir = '';
  let cloudDir = '';
  let edgeDir = '';
  let token = '';
  let httpPort = 0;

  beforeAll(async () => {
    kube = await startCluster();
    if (typeof kube === 'string') return;
    dir = tempDir('secrets');
    cloudDir = join(dir, 'cloud');
    edgeDir = join(dir, 'edge');
    const server = serverCert(dir);
    const cloudPort = await freePort();
    cloud = daemon([
      'cloud',
      ...['--kubeconfig', kube.kubeconfig, '--port', String(cloudPort), '--host', '127.0.0.1'],
      ...['--data-dir', cloudDir, '--tls-cert', server.certFile, '--tls-key', server.keyFile],
    ]);
    await waitFor(() => /cloudcore listening/.test(cloud!.output()), 60_000, 'cloudcore');
    token = (
      await run(process.execPath, [CLI, 'cloud', 'token', 'create', '--node', 'sec-node', '--data-dir', cloudDir])
    ).stdout.trim();
    await kube.kubectl(['apply', '-f', '-'], `${modelYaml('thermo')}---\n${deviceYaml('meter', 'sec-node', 'thermo')}`);
    httpPort = await freePort();
    edge = daemon(
      [
        'edge',
        ...['--cloud', `https://127.0.0.1:${cloudPort}`, '--cloud-ca', server.certFile, '--node-name', 'sec-node'],
        ...['--data-dir', edgeDir, '--http-port', String(httpPort), '--mqtt-port', String(await freePort())],
        ...['--log-level', 'debug'],
      ],
      { EDGETWIN_JOIN_TOKEN: token },
    );
  }, 360_000);

  afterAll(async () => {
    await stop(edge);
    await stop(cloud);
    if (typeof kube === 'object') await kube.stop();
    removeTempDirs();
  }, 60_000);

  it('the join token and the private keys appear in no log line, no command line and no inherited environment', async ({
    skip,
  }) => {
    if (typeof kube === 'string') return skip(kube);
    // Joined over TLS: the device arrived, and edgecore started the Modbus mapper for it.
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${httpPort}/api/v1/devices/default/meter`).catch(() => undefined))?.ok,
      60_000,
      `the device to reach the edge (edge output:\n${edge!.output().slice(-2000)})`,
    );
    const tree = await waitFor(
      async () => {
        const t = await processTree(edge!.child.pid!);
        return t.some((p) => /mapper-modbus|modbus/.test(p.args) && p.pid !== edge!.child.pid) ? t : undefined;
      },
      60_000,
      'the modbus mapper process',
    );
    expect(edge!.output()).toMatch(/joined the cloud; node certificate stored/);
    for (const p of tree) {
      expect(p.args).not.toContain(token);
      if (p.pid === edge!.child.pid) continue; // its environment is the one the user gave it
      const environ = readFileSync(`/proc/${p.pid}/environ`, 'utf8');
      expect(environ).not.toContain(token);
      expect(environ).not.toContain('EDGETWIN_JOIN_TOKEN');
    }
    const nodeKey = readFileSync(join(edgeDir, 'cloud-pki', 'node.key'), 'utf8');
    const caKey = readFileSync(join(cloudDir, 'pki', 'ca.key'), 'utf8');
    for (const [name, out] of [
      ['edge', edge!.output()],
      ['cloud', cloud!.output()],
    ] as const) {
      expect(out.split('\n').length).toBeGreaterThan(3);
      for (const secret of [token, token.slice(12), keyBody(nodeKey), keyBody(caKey)])
        expect({ name, leaked: out.includes(secret) }).toEqual({ name, leaked: false });
    }
  });

  it('`edgetwin edge --token` still works but warns that the token is visible in ps; --token-file reads a file', async ({
    skip,
  }) => {
    if (typeof kube === 'string') return skip(kube);
    const argvEdge = daemon([
      'edge',
      ...['--cloud', 'https://127.0.0.1:9', '--node-name', 'argv-node', '--data-dir', tempDir('argv-edge')],
      ...['--http-port', String(await freePort()), '--mqtt-port', String(await freePort()), '--token', 'etj.x'],
    ]);
    await waitFor(() => /every local user sees it \(ps\)/.test(argvEdge.output()), 30_000, 'the --token warning');
    await stop(argvEdge);
    const file = join(dir, 'missing-token');
    /** Runs `edgetwin edge --token-file FILE`, which must fail; its exit code and stderr. */
    const failing = async (): Promise<{ code: number; stderr: string }> => {
      const args = [CLI, 'edge', '--cloud', 'https://127.0.0.1:9', '--token-file', file];
      const r = await run(process.execPath, args).then(
        (ok) => ({ code: 0, stderr: ok.stderr }),
        (e: { code: number; stderr: string }) => e,
      );
      return r;
    };
    const missing = await failing();
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`--token-file ${file}: no such file`);
    writeFileSync(file, '');
    const empty = await failing();
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toContain('the file is empty');
  });
});

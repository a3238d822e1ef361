/**
 * `edgetwin service install edge|cloud` writes hardened systemd units that systemd itself
 * (`systemd-analyze verify`) accepts without a single diagnostic.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { missingPeer } from '@edgetwin/sdk/testing';
import { CLI, tempDir } from '../edgecore/test/helpers/edgecore-process.js';

const run = promisify(execFile);
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

async function install(...args: string[]): Promise<{ root: string; stdout: string }> {
  const root = tempDir('service');
  dirs.push(root);
  const { stdout } = await run(process.execPath, [CLI, 'service', 'install', ...args, '--root', root]);
  return { root, stdout };
}

function directives(unit: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    const eq = line.indexOf('=');
    if (line.startsWith('#') || line.startsWith('[') || eq < 0) continue;
    const k = line.slice(0, eq);
    m.set(k, [...(m.get(k) ?? []), line.slice(eq + 1)]);
  }
  return m;
}

describe('edgetwin service install', () => {
  it('edge: a hardened unit for the edgetwin user, its sysusers entry and the devices directory', async () => {
    const { root, stdout } = await install('edge', '--node-name', 'edge-7', '--http-port', '8081');
    const unitFile = join(root, 'etc/systemd/system/edgetwin-edge.service');
    const d = directives(readFileSync(unitFile, 'utf8'));
    expect(d.get('User')).toEqual(['edgetwin']);
    expect(d.get('ExecStart')?.[0]).toBe(
      `${process.execPath} ${CLI} edge --devices /etc/edgetwin/edge/devices --data-dir /var/lib/edgetwin/edge --node-name edge-7 --http-port 8081`,
    );
    for (const [k, v] of [
      ['ProtectSystem', 'strict'],
      ['NoNewPrivileges', 'yes'],
      ['StateDirectory', 'edgetwin/edge'],
      ['StateDirectoryMode', '0700'],
      ['ConfigurationDirectoryMode', '0750'],
      ['Restart', 'on-failure'],
      ['CapabilityBoundingSet', ''],
      ['UMask', '0077'],
    ]) {
      expect(d.get(k!), k).toEqual([v]);
    }
    expect(readFileSync(join(root, 'etc/sysusers.d/edgetwin.conf'), 'utf8')).toMatch(/^u edgetwin - /m);
    expect(statSync(join(root, 'etc/edgetwin/edge/devices')).isDirectory()).toBe(true);
    expect(stdout).toContain('edgetwin-edge.service');
  });

  it('cloud: secrets reach the service as credentials, never as paths it reads itself', async () => {
    const { root } = await install('cloud', '--tls-cert', '/etc/ssl/hub.crt', '--tls-key', '/etc/ssl/hub.key');
    const d = directives(readFileSync(join(root, 'etc/systemd/system/edgetwin-cloud.service'), 'utf8'));
    expect(d.get('LoadCredential')).toEqual(['tls.crt:/etc/ssl/hub.crt', 'tls.key:/etc/ssl/hub.key']);
    expect(d.get('ExecStart')?.[0]).toMatch(
      / cloud --data-dir \/var\/lib\/edgetwin\/cloud --tls-cert %d\/tls.crt --tls-key %d\/tls.key$/,
    );
    expect(d.get('PrivateDevices')).toEqual(['yes']);
    expect(existsSync(join(root, 'etc/edgetwin/edge'))).toBe(false);
  });

  it('--dry-run prints the files and writes nothing', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'service', 'install', 'edge', '--dry-run']);
    expect(stdout).toContain('# /etc/systemd/system/edgetwin-edge.service');
    expect(stdout).toContain('ProtectSystem=strict');
  });

  it('a wrong service name is a usage error that says what to type', async () => {
    const err = await run(process.execPath, [CLI, 'service', 'install', 'edgecore', '--dry-run']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 2, stderr: expect.stringContaining('edgetwin service install edge|cloud') });
  });

  const skip = missingPeer('systemd-analyze');
  it.skipIf(skip !== undefined)(
    `systemd-analyze verify accepts both units with no diagnostics ${skip ?? ''}`,
    async () => {
      const edge = await install('edge');
      const cloud = await install('cloud', '--kubeconfig', '/etc/edgetwin/cloud/kubeconfig');
      const units = [
        join(edge.root, 'etc/systemd/system/edgetwin-edge.service'),
        join(cloud.root, 'etc/systemd/system/edgetwin-cloud.service'),
      ];
      const { stdout, stderr } = await run('systemd-analyze', ['verify', ...units]);
      expect(stderr).toBe('');
      expect(stdout).toBe('');
    },
  );
});

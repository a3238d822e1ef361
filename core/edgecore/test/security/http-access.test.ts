/**
 * The HTTP API is closed once tokens exist: no token 401, a read token cannot PATCH (403), a
 * revoked token is refused at once (401), /healthz and /readyz stay open, a foreign Host header
 * (DNS rebinding) is refused, no CORS by default. And edgecore refuses to bind the API beyond
 * loopback without authentication unless --insecure, which warns. Tokens are made and revoked with
 * the real `edgetwin tokens` command; curl sends the requests whose headers fetch cannot forge.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, missingPeer, waitFor } from '@edgetwin/sdk/testing';
import { CLI, startEdgecore, tempDir, type EdgecoreProcess } from '../helpers/edgecore-process.js';

const run = promisify(execFile);
const fixture = join(import.meta.dirname, '..', 'fixtures', 'thermostat.yaml');
const TWIN = '/api/v1/devices/default/thermostat-1/twin';

async function token(dataDir: string, name: string, scope: string): Promise<string> {
  const { stdout } = await run(process.execPath, [
    CLI,
    'tokens',
    'create',
    '--scope',
    scope,
    '--name',
    name,
    '--data-dir',
    dataDir,
  ]);
  return /token: (\S+)/.exec(stdout)![1]!;
}

describe('HTTP API access with bearer tokens', () => {
  let edge: EdgecoreProcess;
  let read: string;
  let write: string;
  const dataDir = tempDir('data');
  const get = (path: string, auth?: string, init: RequestInit = {}) =>
    fetch(`${edge.http}${path}`, {
      ...init,
      headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...(init.headers as Record<string, string>) },
    });
  const patch = (auth: string) =>
    get(`${TWIN}/desired`, auth, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ setpoint: 25 }),
    });

  beforeAll(async () => {
    read = await token(dataDir, 'dashboard', 'read');
    write = await token(dataDir, 'operator', 'write');
    const devicesDir = tempDir('devices');
    copyFileSync(fixture, join(devicesDir, 'thermostat.yaml'));
    edge = await startEdgecore({ devicesDir, dataDir });
  });
  afterAll(async () => edge?.kill());

  it('no token: 401 problem+json with WWW-Authenticate; health and readiness stay open', async () => {
    const res = await get(TWIN);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    expect(await res.json()).toMatchObject({ status: 401, code: 'ET_UNAUTHORIZED' });
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/api/v1/readyz')).status).toBe(200);
    expect((await get('/metrics')).status).toBe(401);
    expect((await get(TWIN, 'et_000000000000_not-a-real-token-at-all')).status).toBe(401);
  });

  it('a read token reads but gets 403 on PATCH; a write token sets the desired value', async () => {
    expect((await get(TWIN, read)).status).toBe(200);
    const denied = await patch(read);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ code: 'ET_FORBIDDEN' });
    expect((await patch(write)).status).toBe(200);
    expect(
      ((await (await get(TWIN, read)).json()) as { desired: { setpoint: { value: number } } }).desired.setpoint.value,
    ).toBe(25);
  });

  it('a revoked token is refused from then on, without a restart', async () => {
    await run(process.execPath, [CLI, 'tokens', 'revoke', 'dashboard', '--data-dir', dataDir]);
    await waitFor(async () => (await get(TWIN, read)).status === 401, 10_000, 'the revoked token to be refused');
    expect((await get(TWIN, write)).status).toBe(200);
  });

  it.skipIf(missingPeer('curl'))(
    'a request for a foreign Host (DNS rebinding) is refused; no CORS by default',
    async () => {
      const curl = async (...args: string[]) =>
        (await run('curl', ['-s', '-i', '-H', `authorization: Bearer ${write}`, ...args, `${edge.http}${TWIN}`]))
          .stdout;
      expect(await curl('-H', 'Host: attacker.example:8080')).toMatch(/^HTTP\/1\.1 403/);
      expect(await curl('-H', `Host: localhost:${edge.httpPort}`)).toMatch(/^HTTP\/1\.1 200/);
      const cors = await curl('-H', 'Origin: http://attacker.example');
      expect(cors).toMatch(/^HTTP\/1\.1 200/);
      expect(cors.toLowerCase()).not.toContain('access-control-allow-origin');
    },
  );
});

describe('binding the HTTP API beyond loopback', () => {
  it('without authentication it is refused; --insecure starts it and warns', async () => {
    const devicesDir = tempDir('devices');
    const args = (dataDir: string, httpPort: number, mqttPort: number) => [
      CLI,
      'edge',
      '--devices',
      devicesDir,
      '--data-dir',
      dataDir,
      '--no-mappers',
      '--node-name',
      'edge-1',
      '--http-host',
      '0.0.0.0',
      '--http-port',
      String(httpPort),
      '--mqtt-port',
      String(mqttPort),
    ];
    const refused = spawn(process.execPath, args(tempDir('data'), await freePort(), await freePort()), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    refused.stdout.on('data', (d: Buffer) => (out += d.toString()));
    refused.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => refused.once('exit', r));
    expect(code).not.toBe(0);
    expect(out).toContain('without authentication');
    expect(out).toContain('--insecure');

    const edge = await startEdgecore({ devicesDir, extraArgs: ['--http-host', '0.0.0.0', '--insecure'] });
    try {
      expect(edge.logs.join('\n')).toContain('INSECURE');
      expect((await fetch(`${edge.http}/api/v1/devices`)).status).toBe(200);
    } finally {
      await edge.kill();
    }
  });
});

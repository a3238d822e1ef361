/**
 * Secrets stay secret: a mapper started by edgecore gets its broker password through a 0600 file
 * named in its environment, never on its command line (`ps`), and no password appears in the logs;
 * another Unix user cannot read a mapper's password file. And the embedded broker's TLS listener
 * lets in a client whose certificate a private CA (made here with openssl) signed, as the identity
 * its CN names, and refuses one from another CA.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { edgecorePasswordFile, mapperPasswordFile, usersFile } from '@edgetwin/edgecore';
import { freePort, missingPeer, waitFor } from '@edgetwin/sdk/testing';
import { CLI, startEdgecore, tempDir, type EdgecoreProcess } from '../helpers/edgecore-process.js';

const run = promisify(execFile);
const fixture = join(import.meta.dirname, '..', 'fixtures', 'thermostat.yaml');
const isRoot = process.getuid?.() === 0;

describe('secrets of the processes edgecore starts', () => {
  let edge: EdgecoreProcess | undefined;
  afterAll(async () => edge?.kill());

  it('a mapper gets its MQTT password (for drivers with topics of their own) from a 0600 file named in its environment; ps and the logs never show it', async () => {
    const devicesDir = tempDir('devices');
    copyFileSync(fixture, join(devicesDir, 'thermostat.yaml'));
    edge = await startEdgecore({ devicesDir, mappers: true });
    const dataDir = edge.dataDir;
    const e = edge;
    // The mapper registers over DMI; its MQTT identity is there for ctx.mqtt (ZigBee permit-join).
    await waitFor(
      () => e.logs.some((l) => l.includes('mapper-modbus') && l.includes('registered with edgecore over DMI')),
      30_000,
      'the Modbus mapper to register over DMI',
    );
    const mapperPassword = readFileSync(mapperPasswordFile(dataDir, 'modbus'), 'utf8').trim();
    const edgecorePassword = readFileSync(edgecorePasswordFile(dataDir), 'utf8').trim();
    const secrets = [mapperPassword, edgecorePassword, e.mqtt.password];

    const ps = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
    const children = ps
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([, ppid]) => ppid === String(e.child.pid));
    expect(children.map((c) => c.slice(2).join(' ')).join('\n')).toContain('mapper');
    for (const s of secrets) expect(ps).not.toContain(s);
    for (const [pid] of children) {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      expect(environ).toContain(`EDGETWIN_MQTT_PASSWORD_FILE=${mapperPasswordFile(dataDir, 'modbus')}`);
      for (const s of secrets) expect(environ).not.toContain(s);
    }
    for (const s of secrets) expect(e.logs.join('\n')).not.toContain(s);

    for (const f of [mapperPasswordFile(dataDir, 'modbus'), edgecorePasswordFile(dataDir), usersFile(dataDir)])
      expect((statSync(f).mode & 0o777).toString(8)).toBe('600');
    expect((statSync(join(dataDir, 'mappers', 'modbus')).mode & 0o777).toString(8)).toBe('700');
    expect(readFileSync(usersFile(dataDir), 'utf8')).not.toContain(mapperPassword);
  });

  it.skipIf(!isRoot)('another Unix user cannot read a mapper’s password file', async () => {
    const file = mapperPasswordFile(edge!.dataDir, 'modbus');
    const attempt = run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', file]);
    await expect(attempt).rejects.toMatchObject({ stderr: expect.stringContaining('Permission denied') as string });
  });
});

const skipTls = missingPeer('openssl', 'mosquitto_sub');

describe('the embedded broker over TLS with client certificates', () => {
  let edge: EdgecoreProcess | undefined;
  afterAll(async () => edge?.kill());

  it.skipIf(skipTls)(
    'a certificate from the private CA logs in as its CN; one from another CA is refused',
    async () => {
      const pki = tempDir('pki');
      const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });
      const ca = (name: string) =>
        ssl(
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '2',
          '-subj',
          `/CN=${name}`,
          '-keyout',
          `${name}.key`,
          '-out',
          `${name}.pem`,
        );
      const issue = (name: string, cn: string, by: string, ext = '') => {
        ssl(
          'req',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-subj',
          `/CN=${cn}`,
          '-keyout',
          `${name}.key`,
          '-out',
          `${name}.csr`,
        );
        ssl(
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          `${by}.pem`,
          '-CAkey',
          `${by}.key`,
          '-CAcreateserial',
          '-days',
          '2',
          '-out',
          `${name}.pem`,
          ...(ext ? ['-extfile', ext] : []),
        );
      };
      ca('edge-ca');
      ca('rogue-ca');
      execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1\\n' > ${join(pki, 'san.ext')}`]);
      issue('server', 'edge-1', 'edge-ca', 'san.ext');
      issue('app', 'cert-app', 'edge-ca');
      issue('rogue', 'cert-app', 'rogue-ca');

      const devicesDir = tempDir('devices');
      copyFileSync(fixture, join(devicesDir, 'thermostat.yaml'));
      const dataDir = tempDir('data');
      await run(process.execPath, [
        CLI,
        'users',
        'add',
        'cert-app',
        '--role',
        'app',
        '--read',
        '*/*',
        '--cert-only',
        '--data-dir',
        dataDir,
      ]);
      const tlsPort = await freePort();
      const f = (n: string) => join(pki, n);
      edge = await startEdgecore({
        devicesDir,
        dataDir,
        extraArgs: [
          '--mqtt-tls-port',
          String(tlsPort),
          '--mqtt-tls-cert',
          f('server.pem'),
          '--mqtt-tls-key',
          f('server.key'),
          '--mqtt-tls-ca',
          f('edge-ca.pem'),
        ],
      });
      const sub = (...args: string[]) =>
        run(
          'mosquitto_sub',
          [
            '-h',
            '127.0.0.1',
            '-p',
            String(tlsPort),
            '--cafile',
            f('edge-ca.pem'),
            '-t',
            'devices/default/thermostat-1/state',
            '-C',
            '1',
            '-W',
            '5',
            ...args,
          ],
          { timeout: 10_000 },
        );

      const { stdout } = await sub('--cert', f('app.pem'), '--key', f('app.key'));
      expect(JSON.parse(stdout)).toMatchObject({ state: expect.any(String) as string });
      await expect(sub('--cert', f('rogue.pem'), '--key', f('rogue.key'))).rejects.toThrow();
      await expect(sub()).rejects.toMatchObject({ stderr: expect.stringMatching(/not authori[sz]ed/i) as string });
    },
  );
});

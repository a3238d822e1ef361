/**
 * Security against node-opcua's server: each security mode with a real certificate exchange (the
 * server trusts only the mapper's certificate, the mapper only the server's), an untrusted server
 * certificate, and user names with passwords from a file or an environment variable.
 */
import { existsSync, readFileSync, writeFileSync, readdirSync, copyFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEdgeTwinError, type EdgeTwinError } from '@edgetwin/sdk';
import { missingPeer } from '@edgetwin/sdk/testing';
import {
  certificateThumbprint,
  createOpcuaDriver,
  defaultPkiDir,
  pkiLayout,
  readCertificateDer,
} from '@edgetwin/mapper-opcua';
import { plantNodes, startOpcuaSimulator, type OpcuaSimulator } from '@edgetwin/mapper-opcua/sim';
import { context, device, prop, Recorder, signal, tempDir, trustServer } from './helpers.js';

const PASSWORD = 'pump-room-7';
let sim: OpcuaSimulator;
let dataDir: string;

const level = () => prop('level', 'DOUBLE', { nodeID: plantNodes.tankLevel }, { readOnly: true });

async function connectError(p: Promise<unknown>): Promise<EdgeTwinError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isEdgeTwinError(err)) throw new Error(`expected an EdgeTwinError, got ${String(err)}`);
  return err;
}

beforeAll(async () => {
  sim = await startOpcuaSimulator({ acceptUnknownClients: false, users: { alice: PASSWORD } });
  dataDir = tempDir('security');
  // First contact over an unsecured endpoint generates the mapper's certificate into its data dir.
  const driver = createOpcuaDriver(context(dataDir));
  const s = await driver.connect(device({ url: sim.url }, [level()]), new Recorder(), signal());
  await s.close();
  await driver.stop();
  // Mutual trust, as an operator sets it up: each side gets the other's certificate.
  await sim.trustClientCertificate(pkiLayout(defaultPkiDir(dataDir)).ownCertificate);
  await trustServer(sim, defaultPkiDir(dataDir));
});

afterAll(async () => {
  await sim?.stop();
});

describe('security modes', { timeout: 60_000 }, () => {
  const combos = [
    ['Sign', 'Basic256Sha256'],
    ['SignAndEncrypt', 'Basic256Sha256'],
    ['Sign', 'Aes128_Sha256_RsaOaep'],
    ['SignAndEncrypt', 'Aes128_Sha256_RsaOaep'],
    ['SignAndEncrypt', 'Aes256_Sha256_RsaPss'],
  ] as const;
  for (const [mode, policy] of combos) {
    it(`reads the tank level over securityMode ${mode} with ${policy}`, async () => {
      const driver = createOpcuaDriver(context(dataDir));
      try {
        const s = await driver.connect(
          device({ url: sim.url, securityMode: mode, securityPolicy: policy }, [level()]),
          new Recorder(),
          signal(),
        );
        const r = (await s.read!([level()], signal())).get('level');
        expect(r).not.toBeInstanceOf(Error);
        expect(typeof (r as { value: unknown }).value).toBe('number');
        await s.close();
      } finally {
        await driver.stop();
      }
    });
  }

  it('the mapper certificate is generated once and reused on every connect', async () => {
    const certFile = pkiLayout(defaultPkiDir(dataDir)).ownCertificate;
    expect(existsSync(certFile)).toBe(true);
    const before = certificateThumbprint(await readCertificateDer(certFile));
    const driver = createOpcuaDriver(context(dataDir));
    const s = await driver.connect(device({ url: sim.url, securityMode: 'Sign' }, [level()]), new Recorder(), signal());
    await s.close();
    await driver.stop();
    expect(certificateThumbprint(await readCertificateDer(certFile))).toBe(before);
  });

  it('two devices connecting at the first start share one generated mapper certificate', async () => {
    const fresh = tempDir('first-start');
    const driver = createOpcuaDriver(context(fresh));
    const [a, b] = await Promise.all(
      ['tank-a', 'tank-b'].map((name) =>
        driver.connect(device({ url: sim.url }, [level()], name), new Recorder(), signal()),
      ),
    );
    const own = pkiLayout(defaultPkiDir(fresh)).ownCertificate;
    expect(existsSync(own)).toBe(true);
    await a!.close();
    await b!.close();
    const thumbprint = certificateThumbprint(await readCertificateDer(own));
    await sim.trustClientCertificate(own);
    await trustServer(sim, defaultPkiDir(fresh));
    const s = await driver.connect(device({ url: sim.url, securityMode: 'Sign' }, [level()]), new Recorder(), signal());
    await s.close();
    await driver.stop();
    expect(certificateThumbprint(await readCertificateDer(own))).toBe(thumbprint);
  });

  it('a server that does not trust the mapper certificate refuses a secured session', async () => {
    const stranger = tempDir('stranger');
    await trustServer(sim, defaultPkiDir(stranger));
    const driver = createOpcuaDriver(context(stranger));
    const err = await connectError(
      driver.connect(device({ url: sim.url, securityMode: 'SignAndEncrypt' }, [level()]), new Recorder(), signal()),
    );
    await driver.stop();
    expect(err.message).toContain(sim.url);
    const own = pkiLayout(defaultPkiDir(stranger)).ownCertificate;
    expect(err.code).toBe('ET_UNAVAILABLE');
    expect(err.message).toContain(certificateThumbprint(await readCertificateDer(own)));
    expect(err.message).toContain("server's trust list");
  });

  it('a securityPolicy None with securityMode Sign is a config error naming the field', async () => {
    const driver = createOpcuaDriver(context(dataDir));
    const err = await connectError(
      driver.connect(
        device({ url: sim.url, securityMode: 'Sign', securityPolicy: 'None' }, [level()]),
        new Recorder(),
        signal(),
      ),
    );
    expect(err.code).toBe('ET_CONFIG_INVALID');
    expect(err.message).toContain('securityPolicy');
  });
});

describe.skipIf(missingPeer('openssl'))('own client certificate', { timeout: 60_000 }, () => {
  it('a certificate and key given in configData are used instead of generating one', async () => {
    const dir = tempDir('own-cert');
    const cert = join(dir, 'mapper.pem');
    const key = join(dir, 'mapper.key');
    const made = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '30',
        '-keyout',
        key,
        '-out',
        cert,
        '-subj',
        '/CN=edgetwin-test-mapper',
        '-addext',
        'subjectAltName=URI:urn:example:edgetwin:mapper,DNS:localhost',
        '-addext',
        'keyUsage=digitalSignature,nonRepudiation,keyEncipherment,dataEncipherment',
        '-addext',
        'extendedKeyUsage=clientAuth,serverAuth',
      ],
      { env: { PATH: process.env.PATH } },
    ); // node-opcua leaves OPENSSL_CONF set to "undefined"
    expect(made.status, made.stderr.toString()).toBe(0);
    await sim.trustClientCertificate(cert);
    const fresh = tempDir('own-cert-data');
    await trustServer(sim, defaultPkiDir(fresh));
    const driver = createOpcuaDriver(context(fresh));
    const s = await driver.connect(
      device({ url: sim.url, securityMode: 'SignAndEncrypt', certificateFile: cert, privateKeyFile: key }, [level()]),
      new Recorder(),
      signal(),
    );
    expect((await s.read!([level()], signal())).get('level')).not.toBeInstanceOf(Error);
    await s.close();
    await driver.stop();
    expect(existsSync(pkiLayout(defaultPkiDir(fresh)).ownCertificate)).toBe(false);
  });
});

describe('server certificate trust', { timeout: 60_000 }, () => {
  it('an untrusted server certificate fails naming its thumbprint and the trust list, and trusting it works', async () => {
    const fresh = tempDir('untrusted');
    const pki = pkiLayout(defaultPkiDir(fresh));
    const driver = createOpcuaDriver(context(fresh));
    const dev = device({ url: sim.url, securityMode: 'Sign' }, [level()]);
    const err = await connectError(driver.connect(dev, new Recorder(), signal()));
    expect(err.code).toBe('ET_PROTOCOL');
    expect(err.details.status).toBe('BadCertificateUntrusted');
    expect(err.message).toContain(sim.thumbprint);
    expect(err.message).toContain(pki.trusted);
    // Follow the message: copy the rejected certificate into the trust list.
    const rejected = err.details.rejectedFile as string;
    expect(readdirSync(pki.rejected).length).toBeGreaterThan(0);
    copyFileSync(rejected, join(pki.trusted, 'server.pem'));
    // The server must also trust this new mapper certificate for a signed session.
    await sim.trustClientCertificate(pki.ownCertificate);
    const s = await driver.connect(dev, new Recorder(), signal());
    expect((await s.read!([level()], signal())).get('level')).not.toBeInstanceOf(Error);
    await s.close();
    await driver.stop();
  });
});

describe('user identity', { timeout: 60_000 }, () => {
  it('a user name with the password from a file is accepted', async () => {
    const file = join(dataDir, 'password');
    writeFileSync(file, `${PASSWORD}\n`);
    const driver = createOpcuaDriver(context(dataDir));
    const s = await driver.connect(
      device({ url: sim.url, securityMode: 'SignAndEncrypt', userName: 'alice', passwordFile: file }, [level()]),
      new Recorder(),
      signal(),
    );
    expect((await s.read!([level()], signal())).get('level')).not.toBeInstanceOf(Error);
    await s.close();
    await driver.stop();
  });

  it('a user name with the password from an environment variable is accepted', async () => {
    const driver = createOpcuaDriver(context(dataDir), { env: { PLANT_PASSWORD: PASSWORD } });
    const s = await driver.connect(
      device({ url: sim.url, securityMode: 'Sign', userName: 'alice', passwordEnv: 'PLANT_PASSWORD' }, [level()]),
      new Recorder(),
      signal(),
    );
    await s.close();
    await driver.stop();
  });

  it('a wrong password is refused with an error naming the user but never the password', async () => {
    const file = join(dataDir, 'wrong-password');
    writeFileSync(file, 'not-the-password');
    const driver = createOpcuaDriver(context(dataDir));
    const err = await connectError(
      driver.connect(
        device({ url: sim.url, securityMode: 'SignAndEncrypt', userName: 'alice', passwordFile: file }, [level()]),
        new Recorder(),
        signal(),
      ),
    );
    await driver.stop();
    expect(err.code).toBe('ET_PROTOCOL');
    expect(err.message).toContain('alice');
    expect(err.message).toContain(file);
    expect(err.message).not.toContain('not-the-password');
    expect(JSON.stringify(err.details)).not.toContain('not-the-password');
  });

  it('a missing password variable is a config error naming the variable', async () => {
    const driver = createOpcuaDriver(context(dataDir), { env: {} });
    const err = await connectError(
      driver.connect(
        device({ url: sim.url, userName: 'alice', passwordEnv: 'NOT_SET_ANYWHERE' }, [level()]),
        new Recorder(),
        signal(),
      ),
    );
    expect(err.code).toBe('ET_CONFIG_INVALID');
    expect(err.message).toContain('NOT_SET_ANYWHERE');
    expect(readFileSync(join(dataDir, 'password'), 'utf8')).toContain(PASSWORD);
  });
});

describe('a server with only secured endpoints', { timeout: 60_000 }, () => {
  it('refuses securityMode None with an error that says to use Sign or SignAndEncrypt', async () => {
    const secure = await startOpcuaSimulator({ secureOnly: true });
    try {
      const driver = createOpcuaDriver(context(dataDir));
      const err = await connectError(driver.connect(device({ url: secure.url }, [level()]), new Recorder(), signal()));
      expect(err.code).toBe('ET_UNAVAILABLE');
      expect(err.message).toContain('set securityMode Sign or SignAndEncrypt');
      await driver.stop();
    } finally {
      await secure.stop();
    }
  });
});

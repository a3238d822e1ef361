/**
 * The sdk's MqttConnection (edgecore's broker connection) against Debian's Mosquitto, observed and
 * driven by mosquitto_pub and mosquitto_sub: QoS 0/1 both ways, retained messages, large payloads,
 * back-pressure, reconnect (subscriptions restored, unacknowledged messages re-sent), keepalive
 * on a broker that stops answering, and the errors a user sees for a bad URL or a refusing broker.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttConnection, MqttError, connectMqtt } from '@edgetwin/sdk/mqtt';
import {
  freePort,
  missingPeer,
  startMosquitto,
  stopProcess,
  waitFor,
  waitForPort,
  type RunningPeer,
  MosquittoSub,
  mosquittoPub,
} from '@edgetwin/sdk/testing';

const execFileAsync = promisify(execFile);
const skip = missingPeer('mosquitto', 'mosquitto_pub', 'mosquitto_sub');

interface Received {
  topic: string;
  payload: string;
}

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function broker(port?: number): Promise<RunningPeer> {
  const b = await startMosquitto(port === undefined ? {} : { port });
  cleanup.push(() => b.stop());
  return b;
}

async function connection(url: string, opts: Partial<Parameters<typeof connectMqtt>[0]> = {}): Promise<MqttConnection> {
  const conn = await connectMqtt({ url, clientId: `test-${Math.random().toString(36).slice(2)}`, ...opts });
  cleanup.push(() => conn.end(100));
  return conn;
}

/** Collects what the connection receives; every message is done at once. */
function collect(conn: MqttConnection): Received[] {
  const got: Received[] = [];
  conn.setMessageHandler((topic, payload, done) => {
    got.push({ topic, payload: payload.toString('utf8') });
    done();
  });
  return got;
}

/** The retained message on `topic`, read by a fresh mosquitto_sub. */
async function retained(port: number, topic: string): Promise<string> {
  const { stdout } = await execFileAsync(
    'mosquitto_sub',
    ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-C', '1', '-W', '10'],
    { maxBuffer: 4 * 1024 * 1024 },
  );
  return stdout.replace(/\n$/, '');
}

describe.skipIf(skip)('MqttConnection against Mosquitto', () => {
  it('receives QoS 0 and 1 from mosquitto_pub, and publishes QoS 0, 1 and retained messages mosquitto_sub sees', async () => {
    const b = await broker();
    const conn = await connection(b.url);
    const got = collect(conn);
    await conn.subscribe(['in/#'], 1);
    await mosquittoPub(b.port, 'in/one', 'at least once', { qos: 1 });
    await mosquittoPub(b.port, 'in/zero', 'at most once', { qos: 0 });
    await waitFor(() => got.length === 2, 10_000, 'both messages');
    expect(got).toEqual([
      { topic: 'in/one', payload: 'at least once' },
      { topic: 'in/zero', payload: 'at most once' },
    ]);

    const sub = await MosquittoSub.start(b.port, 'out/#');
    cleanup.push(() => sub.stop());
    await conn.publishAsync('out/q1', 'acknowledged', 1);
    conn.publish('out/q0', 'fire and forget', 0, false);
    await conn.publishAsync('out/kept', '{"value":"21.5"}', 1, true);
    expect((await sub.waitFor('out/q1')).payload).toBe('acknowledged');
    expect((await sub.waitFor('out/q0')).payload).toBe('fire and forget');
    expect(await retained(b.port, 'out/kept')).toBe('{"value":"21.5"}');
    expect(conn.unackedCount).toBe(0);
  });

  it('carries a 300 kB payload (a 3-byte remaining length) both ways intact', async () => {
    const b = await broker();
    const conn = await connection(b.url);
    const got = collect(conn);
    await conn.subscribe(['big/in'], 1);
    const big = Array.from({ length: 300_000 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join('');
    const file = join(mkdtempSync(join(tmpdir(), 'edgetwin-big-')), 'payload');
    writeFileSync(file, big);
    await execFileAsync('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(b.port),
      '-q',
      '1',
      '-t',
      'big/in',
      '-f',
      file,
    ]);
    await waitFor(() => got.length === 1, 10_000, 'the big message');
    expect(got[0]!.payload).toBe(big);

    await conn.publishAsync('big/out', `${big}é`, 1, true); // a 2-byte UTF-8 character at the end
    expect(await retained(b.port, 'big/out')).toBe(`${big}é`);
  });

  it('stops reading at maxInFlight messages not done, and reads the rest, in order, once they are', async () => {
    const b = await broker();
    const conn = await connection(b.url, { maxInFlight: 2 });
    const got: string[] = [];
    const held: (() => void)[] = [];
    let holding = true;
    conn.setMessageHandler((_topic, payload, done) => {
      got.push(payload.toString());
      if (holding) held.push(done);
      else done();
    });
    await conn.subscribe(['bp/t'], 1);
    const pub = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(b.port), '-q', '1', '-t', 'bp/t', '-l']);
    pub.stdin.end(Array.from({ length: 10 }, (_, i) => `m${i}`).join('\n') + '\n');
    await new Promise((resolve) => pub.once('exit', resolve));
    await waitFor(() => got.length >= 2, 10_000, 'the first two messages');
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual(['m0', 'm1']); // the broker holds the other eight
    expect(conn.inFlightCount).toBe(2);
    holding = false;
    for (const done of held.splice(0)) done();
    await waitFor(() => got.length === 10, 10_000, 'all ten messages');
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    expect(conn.inFlightCount).toBe(0);
  });

  it('after the broker restarts: reconnects with backoff, subscribes again and re-sends the QoS 1 messages published meanwhile', async () => {
    const port = await freePort();
    let b = await startMosquitto({ port });
    const conn = await connection(b.url, { reconnect: { initialMs: 100, maxMs: 400 } });
    const got = collect(conn);
    await conn.subscribe(['rc/in'], 1);
    const offline: { err: string; retryInMs: number }[] = [];
    conn.on('offline', (err, retryInMs) => offline.push({ err: err.message, retryInMs }));
    let reconnects = 0;
    conn.on('connect', () => reconnects++);

    await b.stop();
    await waitFor(() => offline.length >= 2, 10_000, 'failed reconnect attempts');
    expect(conn.connected).toBe(false);
    expect(offline[1]!.retryInMs).toBeGreaterThan(offline[0]!.retryInMs * 1.2); // 100 ms, then ~200 ms
    const results: (Error | undefined)[] = [];
    conn.publish('rc/out', 'published while the broker was down', 1, true, (err) => results.push(err));
    conn.publish('rc/zero', 'dropped', 0, false);
    expect(conn.droppedQos0).toBe(1);
    expect(conn.unackedCount).toBe(1);

    b = await startMosquitto({ port });
    cleanup.push(() => b.stop());
    await waitFor(() => reconnects === 1 && results.length === 1, 10_000, 'reconnect and the PUBACK');
    expect(results).toEqual([undefined]);
    expect(await retained(port, 'rc/out')).toBe('published while the broker was down');
    await mosquittoPub(port, 'rc/in', 'subscription restored', { qos: 1 });
    await waitFor(() => got.length === 1, 10_000, 'a message on the restored subscription');
    expect(got[0]!.payload).toBe('subscription restored');
  });

  it('with waitForBroker, the first connection waits for a broker that starts later', async () => {
    const port = await freePort();
    const conn = new MqttConnection({
      url: `mqtt://127.0.0.1:${port}`,
      clientId: 'late-broker',
      waitForBroker: true,
      reconnect: { initialMs: 100, maxMs: 200 },
    });
    cleanup.push(() => conn.end(100));
    const offline: string[] = [];
    conn.on('offline', (err) => offline.push(err.message));
    const opened = conn.open();
    await waitFor(() => offline.length >= 2, 10_000, 'failed first attempts');
    expect(offline[0]).toMatch(/ECONNREFUSED/);
    const b = await broker(port);
    await opened;
    expect(conn.connected).toBe(true);
    await conn.publishAsync('late/hello', 'there', 1, true);
    expect(await retained(b.port, 'late/hello')).toBe('there');
  });

  it('replaces a connection whose broker stops answering PINGREQ', async () => {
    const b = await broker();
    const conn = await connection(b.url, { keepaliveSeconds: 1, reconnect: { initialMs: 100, maxMs: 200 } });
    const offline: string[] = [];
    conn.on('offline', (err) => offline.push(err.message));
    let reconnects = 0;
    conn.on('connect', () => reconnects++);
    b.process.kill('SIGSTOP');
    try {
      await waitFor(() => offline.length > 0, 10_000, 'the dead connection to be noticed');
      expect(offline[0]).toMatch(/no PINGRESP within 1 s/);
    } finally {
      b.process.kill('SIGCONT');
    }
    await waitFor(() => reconnects > 0 && conn.connected, 15_000, 'a new connection');
  });

  it('names what is wrong: an unsupported URL, a broker that is not there, a broker that refuses', async () => {
    await expect(connectMqtt({ url: 'ws://127.0.0.1:9001', clientId: 'x' })).rejects.toThrow(
      /scheme ws: is not supported here; use mqtt:\/\/ or tcp:\/\/ \(plain\) or mqtts:\/\/ or ssl:\/\/ \(TLS\)/,
    );
    await expect(connectMqtt({ url: '127.0.0.1:1883', clientId: 'x' })).rejects.toThrow(
      /"127\.0\.0\.1:1883" is not a broker URL; expected mqtt:\/\/host:port/,
    );
    const nobody = await freePort();
    const refused = await connectMqtt({ url: `mqtt://127.0.0.1:${nobody}`, clientId: 'x' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MqttError);
    expect((refused as MqttError).message).toMatch(
      /cannot connect to the MQTT broker at mqtt:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/,
    );
    expect((refused as MqttError).permanent).toBe(false); // the broker may come up later

    // A Mosquitto that admits nobody anonymous answers CONNACK 5.
    const port = await freePort();
    const conf = join(mkdtempSync(join(tmpdir(), 'edgetwin-mosq-')), 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous false\n`);
    const strict: ChildProcess = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
    cleanup.push(() => stopProcess(strict));
    await waitForPort(port);
    const denied = await connectMqtt({ url: `mqtt://someone:secret@127.0.0.1:${port}`, clientId: 'x' }).catch(
      (e: unknown) => e,
    );
    expect(denied).toBeInstanceOf(MqttError);
    expect((denied as MqttError).message).toMatch(/refused the connection: (not authorized|bad user name or password)/);
    expect((denied as MqttError).message).not.toContain('secret'); // no credentials in messages
    expect((denied as MqttError).permanent).toBe(true);
  });

  it.skipIf(missingPeer('openssl'))(
    'speaks TLS (mqtts://) to a Mosquitto with a private CA, and refuses a server it cannot verify',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'edgetwin-tls-'));
      const f = (name: string) => join(dir, name);
      const openssl = (...args: string[]) => execFileAsync('openssl', args, { cwd: dir });
      await openssl(
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        f('ca.key'),
        '-out',
        f('ca.crt'),
        '-days',
        '1',
        '-subj',
        '/CN=edgetwin test CA',
      );
      await openssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        f('server.key'),
        '-out',
        f('server.csr'),
        '-subj',
        '/CN=127.0.0.1',
      );
      writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
      await openssl(
        'x509',
        '-req',
        '-in',
        f('server.csr'),
        '-CA',
        f('ca.crt'),
        '-CAkey',
        f('ca.key'),
        '-CAcreateserial',
        '-out',
        f('server.crt'),
        '-days',
        '1',
        '-extfile',
        f('san.ext'),
      );
      // Mosquitto started as root reads its files as the mosquitto user.
      chmodSync(dir, 0o755);
      for (const name of ['ca.crt', 'server.crt', 'server.key']) chmodSync(f(name), 0o644);
      const port = await freePort();
      writeFileSync(
        f('mosquitto.conf'),
        `listener ${port} 127.0.0.1\nallow_anonymous true\ncafile ${f('ca.crt')}\ncertfile ${f('server.crt')}\nkeyfile ${f('server.key')}\n`,
      );
      const tlsBroker = spawn('mosquitto', ['-c', f('mosquitto.conf')], { stdio: 'ignore' });
      cleanup.push(() => stopProcess(tlsBroker));
      await waitForPort(port);

      const conn = await connection(`mqtts://127.0.0.1:${port}`, { tls: { ca: readFileSync(f('ca.crt')) } });
      const got = collect(conn);
      await conn.subscribe(['tls/#'], 1);
      await conn.publishAsync('tls/echo', 'over TLS', 1);
      await waitFor(() => got.length === 1, 10_000, 'the message back over TLS');
      expect(got[0]).toEqual({ topic: 'tls/echo', payload: 'over TLS' });
      // mosquitto_sub, with the CA, sees it too
      await conn.publishAsync('tls/kept', 'retained over TLS', 1, true);
      const { stdout } = await execFileAsync('mosquitto_sub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '--cafile',
        f('ca.crt'),
        '-t',
        'tls/kept',
        '-C',
        '1',
        '-W',
        '10',
      ]);
      expect(stdout.trim()).toBe('retained over TLS');

      const untrusted = await connectMqtt({ url: `mqtts://127.0.0.1:${port}`, clientId: 'x' }).catch((e: unknown) => e);
      expect(untrusted).toBeInstanceOf(MqttError);
      expect((untrusted as MqttError).message).toMatch(
        /cannot connect to the MQTT broker at mqtts:\/\/127\.0\.0\.1:\d+: .*certificate/,
      );
    },
  );
});

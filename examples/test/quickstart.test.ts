/**
 * The quickstart path end to end, as a user runs it: YAML -> Modbus mapper -> twin -> HTTP and
 * MQTT, and desired -> register, checked on the device with Debian's mbpoll.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, missingPeer, waitFor } from '@edgetwin/sdk/testing';

const run = promisify(execFile);
const START = resolve(import.meta.dirname, '../dist/quickstart/start.js');
const skip = missingPeer('mosquitto_sub', 'mosquitto_pub', 'mbpoll');

interface Twin {
  state: string;
  reported: Record<string, { value: unknown }>;
  desired: Record<string, { value: unknown }>;
}

describe('the quickstart', () => {
  let child: ChildProcess;
  let out = '';
  // Every port moved to a free one: the quickstart's defaults (4840, 6638, ...) may be taken by another test or program.
  const ports = { http: 0, mqtt: 0, modbus: 0, opcua: 0, zigbee: 0 };
  const dataDir = mkdtempSync(join(tmpdir(), 'edgetwin-quickstart-'));
  // What the tour's commands do: mosquitto_sub/pub read the "tour" user's options from there.
  const mqttClients = join(dataDir, 'mqtt-clients');
  const clientEnv = { ...process.env, XDG_CONFIG_HOME: mqttClients };
  const twinUrl = () => `http://127.0.0.1:${ports.http}/api/v1/devices/default/thermostat-1/twin`;
  // What the tour's curl commands send (-H @FILE): the "tour" token the quickstart wrote.
  const auth = () => {
    const [name, value] = readFileSync(join(dataDir, 'http-token.header'), 'utf8').trim().split(/:\s*/, 2);
    return { [name!]: value! };
  };
  const twin = async () => (await (await fetch(twinUrl(), { headers: auth() })).json()) as Twin;
  const mbpoll = async (...args: string[]) =>
    (
      await run('mbpoll', ['-m', 'tcp', '-p', String(ports.modbus), '-a', '1', ...args, '-1', '127.0.0.1'], {
        timeout: 10_000,
      })
    ).stdout;

  beforeAll(async () => {
    if (skip) return;
    for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
    child = spawn(process.execPath, [START], {
      env: {
        ...process.env,
        EDGETWIN_HTTP_PORT: String(ports.http),
        EDGETWIN_MQTT_PORT: String(ports.mqtt),
        EDGETWIN_MODBUS_PORT: String(ports.modbus),
        EDGETWIN_OPCUA_PORT: String(ports.opcua),
        EDGETWIN_ZIGBEE_PORT: String(ports.zigbee),
        EDGETWIN_DATA_DIR: dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    // The first start generates OPC UA certificates and forms a ZigBee network: allow time on a busy machine.
    // Waits for the ready line, or for the quickstart to exit (a start that failed: no use waiting 90 s).
    const failed = (why: string) => new Error(`${why}; the quickstart's output:\n${out}`);
    await waitFor(
      () => child.exitCode !== null || out.includes('Press Ctrl-C to stop.'),
      90_000,
      'the quickstart to start',
    ).catch((err: unknown) => {
      throw failed((err as Error).message);
    });
    if (child.exitCode !== null) throw failed(`the quickstart exited with code ${child.exitCode} before it was ready`);
  }, 120_000);

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it.skipIf(skip)('prints what to try, with the ports it uses', () => {
    expect(out).toContain(
      `curl -s -H @${join(dataDir, 'http-token.header')} http://127.0.0.1:${ports.http}/api/v1/devices/default/thermostat-1/twin`,
    );
    expect(out).toContain(
      `XDG_CONFIG_HOME=${mqttClients} mosquitto_sub -h 127.0.0.1 -p ${ports.mqtt} -t 'devices/#' -v`,
    );
  });

  it.skipIf(skip)('the HTTP API refuses a request without the token, and curl -H @FILE sends it', async () => {
    expect((await fetch(twinUrl())).status).toBe(401);
    const { stdout } = await run('curl', ['-s', '-H', `@${join(dataDir, 'http-token.header')}`, twinUrl()]);
    expect(JSON.parse(stdout)).toMatchObject({ desired: expect.any(Object) as object });
  });

  it.skipIf(skip)('the MQTT broker refuses a client without credentials', async () => {
    const anonymous = run(
      'mosquitto_sub',
      ['-h', '127.0.0.1', '-p', String(ports.mqtt), '-t', 'devices/#', '-C', '1', '-W', '5'],
      {
        timeout: 10_000,
        env: { ...process.env, XDG_CONFIG_HOME: join(dataDir, 'nowhere') },
      },
    );
    await expect(anonymous).rejects.toMatchObject({ stderr: expect.stringContaining('not authorised') as string });
  });

  it.skipIf(skip)('the supervised Modbus mapper reports the registers as twin properties', async () => {
    const t = await waitFor(
      async () => {
        const x = await twin();
        return x.state === 'online' && typeof x.reported.temperature?.value === 'number' ? x : undefined;
      },
      30_000,
      'reported values from the mapper',
    );
    expect(t.reported.setpoint?.value).toBe(22);
    expect(t.reported.heater?.value).toBe(false);
    expect(t.reported.humidity?.value).toEqual(expect.any(Number));
  });

  it.skipIf(skip)('edge apps get the values on the data topics', async () => {
    const { stdout } = await run(
      'mosquitto_sub',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(ports.mqtt),
        '-t',
        'devices/default/thermostat-1/setpoint',
        '-C',
        '1',
        '-W',
        '10',
      ],
      { timeout: 15_000, env: clientEnv },
    );
    expect(JSON.parse(stdout)).toMatchObject({ value: 22, timestamp: expect.any(Number) as number });
  });

  it.skipIf(skip)('a desired setpoint over HTTP is written to the holding register and reported back', async () => {
    const res = await fetch(`${twinUrl()}/desired?wait=reported&timeout=10000`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json', ...auth() },
      body: JSON.stringify({ setpoint: 25.5 }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Twin).reported.setpoint?.value).toBe(25.5);
    expect(await mbpoll('-t', '4', '-r', '2', '-c', '1')).toMatch(/\[2\]:\s+255\b/);
  });

  it.skipIf(skip)('a desired value on the MQTT /set topic switches the coil', async () => {
    await run(
      'mosquitto_pub',
      ['-h', '127.0.0.1', '-p', String(ports.mqtt), '-t', 'devices/default/thermostat-1/heater/set', '-m', 'true'],
      { env: clientEnv },
    );
    await waitFor(async () => (await twin()).reported.heater?.value === true, 15_000, 'heater reported true');
    expect(await mbpoll('-t', '0', '-r', '1', '-c', '1')).toMatch(/\[1\]:\s+1\b/);
  });

  it.skipIf(skip)('Ctrl-C stops edgecore, the mapper and the simulator', async () => {
    // A second attempt (CI's --retry) finds the quickstart gone: it fails at once instead of waiting for an exit.
    expect(child.exitCode, `the quickstart had already exited (signal ${child.signalCode})`).toBeNull();
    let signal: NodeJS.Signals | null = null;
    const exited = new Promise<number | null>((r) =>
      child.once('exit', (code, sig) => {
        signal = sig;
        r(code);
      }),
    );
    child.kill('SIGINT');
    expect(await exited, `exit code (ended by signal ${signal}); its output:\n${out.slice(-3000)}`).toBe(0);
    expect(out).toContain('Stopped.');
    const left = spawnSync('pgrep', ['-f', dataDir], { encoding: 'utf8' }).stdout.trim();
    expect(left).toBe('');
    await expect(fetch(twinUrl())).rejects.toThrow();
  });
});

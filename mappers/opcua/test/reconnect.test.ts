/**
 * Losing the link at the driver boundary: a server restart and a silently dropped network are
 * reported through onLost, and the next session (what the runtime opens after its backoff)
 * re-creates the subscription and values flow again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@edgetwin/sdk/testing';
import { createOpcuaDriver } from '@edgetwin/mapper-opcua';
import { plantNodes, startOpcuaSimulator, type OpcuaSimulator } from '@edgetwin/mapper-opcua/sim';
import { context, device, prop, Recorder, signal, tempDir, trustServer } from './helpers.js';
import { defaultPkiDir } from '@edgetwin/mapper-opcua';
import { startProxy, type CuttableProxy } from './proxy.js';

let sim: OpcuaSimulator;
let proxy: CuttableProxy | undefined;
const simPki = tempDir('reconnect-sim');
const dataDir = tempDir('reconnect');
const props = [prop('level', 'DOUBLE', { nodeID: plantNodes.tankLevel })];

beforeAll(async () => {
  sim = await startOpcuaSimulator({ tickMs: 100, pkiDir: simPki });
  await trustServer(sim, defaultPkiDir(dataDir));
});
afterAll(async () => {
  await proxy?.stop();
  await sim?.stop();
});

describe('reconnect', { timeout: 60_000 }, () => {
  it('a server restart during a subscription is reported as lost, and a new session resubscribes', async () => {
    const driver = createOpcuaDriver(context(dataDir));
    const rec = new Recorder();
    const dev = device({ url: sim.url, securityMode: 'SignAndEncrypt' }, props);
    const s1 = await driver.connect(dev, rec, signal());
    await s1.subscribe!(props, signal());
    await rec.next('level');

    await sim.stop();
    await waitFor(() => rec.lost.length > 0, 20_000, 'the lost link to be reported');
    expect(rec.lost[0]).toMatchObject({ code: expect.stringMatching(/ET_UNAVAILABLE|ET_TIMEOUT/) as unknown });
    expect(rec.lost.length).toBe(1);
    await s1.close();
    await expect(driver.connect(dev, new Recorder(), signal())).rejects.toMatchObject({ code: 'ET_UNAVAILABLE' });

    // Same port, same PKI: the restarted server keeps its certificate and stays trusted.
    sim = await startOpcuaSimulator({ tickMs: 100, pkiDir: simPki, port: sim.port });
    const rec2 = new Recorder();
    const s2 = await driver.connect(dev, rec2, signal());
    expect(await s2.subscribe!(props, signal())).toEqual([]);
    await rec2.next('level');
    expect(sim.subscriptionCount()).toBe(1);
    await s2.close();
    await driver.stop();
  });

  it('a session the server ends is reported as lost, and the next session works', async () => {
    const driver = createOpcuaDriver(context(dataDir));
    const rec = new Recorder();
    const dev = device({ url: sim.url, keepAliveMs: 500 }, props);
    const s1 = await driver.connect(dev, rec, signal());
    await s1.subscribe!(props, signal());
    await rec.next('level');
    sim.dropSessions();
    await waitFor(() => rec.lost.length > 0, 20_000, 'the ended session to be reported');
    await s1.close();
    const rec2 = new Recorder();
    const s2 = await driver.connect(dev, rec2, signal());
    await s2.subscribe!(props, signal());
    await rec2.next('level');
    await s2.close();
    await driver.stop();
  });

  it('a silently dropped network is detected by the session keep-alive and recovers after it heals', async () => {
    proxy = await startProxy(sim.port);
    const driver = createOpcuaDriver(context(dataDir));
    const rec = new Recorder();
    const url = sim.url.replace(`:${sim.port}/`, `:${proxy.port}/`);
    const dev = device({ url, keepAliveMs: 500, timeoutMs: 1500 }, props);
    const s1 = await driver.connect(dev, rec, signal());
    await s1.subscribe!(props, signal());
    await rec.next('level');

    proxy.cut();
    await waitFor(() => rec.lost.length > 0, 20_000, 'the keep-alive to notice the dropped network');
    await s1.close();
    const countAfterCut = rec.of('level').length;

    proxy.heal();
    const rec2 = new Recorder();
    const s2 = await driver.connect(dev, rec2, signal());
    await s2.subscribe!(props, signal());
    await rec2.next('level');
    expect(rec.of('level').length).toBe(countAfterCut);
    await s2.close();
    await driver.stop();
  });
});

/**
 * What the mapper negotiates with node-opcua's server, checked on the server side: the revised
 * sampling interval of each monitored item, and the endpoint (security mode and policy) it asks for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEdgeTwinError, type EdgeTwinError } from '@edgetwin/sdk';
import { type DeviceSession } from '@edgetwin/sdk/mapper';
import { createOpcuaDriver, defaultPkiDir, type OpcuaVisitorConfig } from '@edgetwin/mapper-opcua';
import { plantNodes, startOpcuaSimulator, type OpcuaSimulator } from '@edgetwin/mapper-opcua/sim';
import { context, device, prop, Recorder, signal, tempDir, trustServer } from './helpers.js';

async function failure(p: Promise<unknown>): Promise<EdgeTwinError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isEdgeTwinError(err)) throw new Error(`expected an EdgeTwinError, got ${String(err)}`);
  return err;
}

describe('monitored items', { timeout: 60_000 }, () => {
  let sim: OpcuaSimulator;
  const driver = createOpcuaDriver(context(tempDir('sampling')));
  let session: DeviceSession<OpcuaVisitorConfig> | undefined;
  beforeAll(async () => {
    sim = await startOpcuaSimulator({ tickMs: 100 });
  });
  afterAll(async () => {
    await session?.close();
    await driver.stop();
    await sim?.stop();
  });

  it("the sampling interval of each monitored item follows the property's collectCycle", async () => {
    const props = [
      prop('level', 'DOUBLE', { nodeID: plantNodes.tankLevel }, { readOnly: true, collectCycle: 200 }),
      prop('temperature', 'DOUBLE', { nodeID: plantNodes.temperature }, { readOnly: true, collectCycle: 1000 }),
      // Faster than the documented floor of 50 ms: asked for (and revised to) 50 ms.
      prop('pump', 'BOOLEAN', { nodeID: plantNodes.pumpOn }, { collectCycle: 10 }),
    ];
    session = await driver.connect(device({ url: sim.url }, props), new Recorder(), signal());
    expect(await session.subscribe!(props, signal())).toEqual([]);

    const items = sim.monitoredItems();
    const intervals = Object.fromEntries(items.map((i) => [i.nodeId, i.samplingInterval]));
    expect(intervals).toEqual({
      [plantNodes.tankLevel]: 200,
      [plantNodes.temperature]: 1000,
      [plantNodes.pumpOn]: 50,
    });
    // All three share the device's one subscription, published at the fastest sampling.
    expect(new Set(items.map((i) => i.subscriptionId)).size).toBe(1);
    expect(items[0]!.publishingInterval).toBe(50);
  });
});

describe('endpoint selection', { timeout: 60_000 }, () => {
  it('a security mode/policy the server does not offer fails with a clear ET_CONFIG_INVALID naming what the server offers', async () => {
    const sim = await startOpcuaSimulator({ securityPolicies: ['Basic256Sha256'] });
    const dataDir = tempDir('endpoint');
    const driver = createOpcuaDriver(context(dataDir));
    try {
      await trustServer(sim, defaultPkiDir(dataDir));
      const err = await failure(
        driver.connect(
          device({ url: sim.url, securityMode: 'SignAndEncrypt', securityPolicy: 'Aes256_Sha256_RsaPss' }, [
            prop('level', 'DOUBLE', { nodeID: plantNodes.tankLevel }, { readOnly: true }),
          ]),
          new Recorder(),
          signal(),
        ),
      );
      expect(err.code).toBe('ET_CONFIG_INVALID');
      expect(err.details.path).toBe('/spec/protocol/configData/securityPolicy');
      // What was asked, where, and what to pick instead.
      expect(err.message).toContain(sim.url);
      expect(err.message).toContain('securityMode SignAndEncrypt and securityPolicy Aes256_Sha256_RsaPss');
      const offered = ['None/None', 'Sign/Basic256Sha256', 'SignAndEncrypt/Basic256Sha256'];
      expect(err.message).toContain(`it offers (securityMode/securityPolicy) ${offered.join(', ')}`);
      expect(err.message).toContain('set securityMode and securityPolicy in the protocol configData');
      expect([...(err.details.offered as string[])].sort()).toEqual(offered);
    } finally {
      await driver.stop();
      await sim.stop();
    }
  });
});

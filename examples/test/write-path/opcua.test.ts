/**
 * Writes to the OPC UA simulator through edgecore's HTTP API: a Float node converges with one
 * write (float32 precision counts as applied), and a node the server refuses answers 502 with the
 * server's StatusCode until access is granted, then the same write is applied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opcuaMapper } from '@edgetwin/mapper-opcua';
import { plantNodes, startOpcuaSimulator, type OpcuaSimulator } from '@edgetwin/mapper-opcua/sim';
import { waitFor } from '@edgetwin/sdk/testing';
import { NODE, startWritePath, type WritePath } from './harness.js';

const DEV = 'default/plant-1';
const LOCKED = plantNodes.typed('Int32');

function yaml(url: string): string {
  return `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: { name: plant, namespace: default }
spec:
  protocol: opcua
  properties:
    - { name: setpoint, type: FLOAT, accessMode: ReadWrite }
    - { name: limit, type: INT, accessMode: ReadWrite }
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: { name: plant-1, namespace: default }
spec:
  deviceModelRef: { name: plant }
  nodeName: ${NODE}
  protocol:
    protocolName: opcua
    configData: { url: "${url}", securityMode: None }
  properties:
    - name: setpoint
      visitors: { protocolName: opcua, configData: { nodeID: "${plantNodes.setpoint}" } }
    - name: limit
      visitors: { protocolName: opcua, configData: { nodeID: "${LOCKED}" } }
`;
}

describe('the write path against the OPC UA simulator', () => {
  let sim: OpcuaSimulator;
  let path: WritePath;

  beforeAll(async () => {
    sim = await startOpcuaSimulator();
    path = await startWritePath({ yaml: yaml(sim.url), definition: opcuaMapper });
    await path.online(DEV, ['setpoint', 'limit']);
  }, 90_000);

  afterAll(async () => {
    await path?.stop();
    await sim?.stop();
  });

  it('21.3 on a Float node is applied with exactly one write and the delta clears', async () => {
    const before = sim.writeCount(plantNodes.setpoint);
    const res = await path.patch(DEV, { setpoint: 21.3 });
    expect(res.body).toMatchObject({ desired: { setpoint: { value: 21.3 } } });
    expect(res.status).toBe(200);
    // Give a write storm time to show itself: the count must stay at one.
    await new Promise((r) => setTimeout(r, 2000));
    expect(sim.writeCount(plantNodes.setpoint) - before).toBe(1);
    const t = await path.twin(DEV);
    expect(t.delta).not.toHaveProperty('setpoint');
    expect(t.desired.setpoint).toMatchObject({
      value: 21.3,
      write: { status: 'applied', deviceValue: Math.fround(21.3) },
    });
    expect(t.reported.setpoint?.value).toBe(Math.fround(21.3));
  });

  it('a write the server refuses answers 502 with its StatusCode; after access is granted the same value is applied', async () => {
    sim.setUserWritable(LOCKED, false);
    const refused = await path.patch(DEV, { limit: 1234 });
    expect(refused.status).toBe(502);
    expect(refused.contentType).toContain('application/problem+json');
    expect(refused.body).toMatchObject({
      code: 'ET_WRITE_FAILED',
      deviceCode: 'BadUserAccessDenied',
      property: 'limit',
    });
    expect(String(refused.body.detail)).toContain('BadUserAccessDenied');
    const t = await path.twin(DEV);
    expect(t.desired.limit?.write).toMatchObject({ status: 'failed', code: 'BadUserAccessDenied' });
    expect(sim.writeCount(LOCKED)).toBe(1);

    sim.setUserWritable(LOCKED, true);
    const again = await path.patch(DEV, { limit: 1234 });
    expect(again.status).toBe(200);
    const after = await path.twin(DEV);
    expect(after.desired.limit?.write?.status).toBe('applied');
    expect(after.reported.limit?.value).toBe(1234);
    expect(after.delta).not.toHaveProperty('limit');

    // Both outcomes are in the device's history, as an operator reads it later.
    const events = await waitFor(
      async () => {
        const res = await fetch(`${path.core.httpUrl}/api/v1/devices/${DEV}/history/events`);
        const body = (await res.json()) as {
          items: { property: string; kind: string; detail: Record<string, unknown> }[];
        };
        const writes = body.items.filter((e) => e.kind === 'write' && e.property === 'limit');
        return writes.length >= 2 ? writes : undefined;
      },
      15_000,
      'write outcomes in the history',
    );
    expect(events.map((e) => e.detail.status)).toEqual(['failed', 'applied']);
    expect(events[0]!.detail.code).toBe('BadUserAccessDenied');
  });
});

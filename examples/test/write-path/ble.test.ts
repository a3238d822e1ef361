/**
 * Writes to a simulated BLE peripheral (noble driven through the simulator's bindings) through
 * edgecore's HTTP API: a fixed-point characteristic (int16, scale 0.01) converges with one write,
 * counted at the peripheral, and the delta clears; a write to a characteristic the peripheral
 * declares read-only answers 502 WriteNotPermitted (refused by the mapper); a characteristic that
 * declares `write` but answers the Write Request with an ATT Error Response (InsufficientAuthentication)
 * answers 502 naming it after one attempt, until the peripheral grants writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBleMapper } from '@edgetwin/mapper-ble';
import { SimBindings, SimWorld } from '@edgetwin/mapper-ble/sim';
import { NODE, startWritePath, type WritePath } from './harness.js';

const DEV = 'default/heater-1';
const MAC = 'e7:00:00:00:00:42';

const yaml = `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: { name: ble-heater, namespace: default }
spec:
  protocol: bluetooth
  properties:
    - { name: target, type: FLOAT, accessMode: ReadWrite }
    - { name: mode, type: INT, accessMode: ReadWrite }
    - { name: schedule, type: INT, accessMode: ReadWrite }
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: { name: heater-1, namespace: default }
spec:
  deviceModelRef: { name: ble-heater }
  nodeName: ${NODE}
  protocol:
    protocolName: bluetooth
    configData: { macAddress: '${MAC}' }
  properties:
    - name: target
      collectCycle: 500
      reportCycle: 500
      visitors:
        protocolName: bluetooth
        configData:
          serviceUUID: 'fff0'
          characteristicUUID: 'fff1'
          codec: { format: int16, endianness: little, scale: 0.01 }
    - name: mode
      collectCycle: 500
      reportCycle: 500
      visitors:
        protocolName: bluetooth
        configData: { serviceUUID: 'fff0', characteristicUUID: 'fff2', codec: { format: uint8 } }
    - name: schedule
      collectCycle: 500
      reportCycle: 500
      visitors:
        protocolName: bluetooth
        configData: { serviceUUID: 'fff0', characteristicUUID: 'fff3', codec: { format: uint8 } }
`;

describe('the write path against a simulated BLE peripheral', () => {
  const world = new SimWorld();
  const written: Buffer[] = [];
  let path: WritePath;

  beforeAll(async () => {
    const start = Buffer.alloc(2);
    start.writeInt16LE(2000);
    world.add({
      address: MAC,
      localName: 'heater',
      services: [
        {
          uuid: 'fff0',
          characteristics: [
            { uuid: 'fff1', properties: ['read', 'write'], value: start, onWrite: (data) => written.push(data) },
            // A characteristic the peripheral does not let centrals write (GATT: Write Not Permitted).
            { uuid: 'fff2', properties: ['read'], value: Buffer.from([1]) },
            // Declares `write` but answers Write Requests with ATT error 0x05 until granted.
            { uuid: 'fff3', properties: ['read', 'write'], value: Buffer.from([0]), refuseWritesWith: 0x05 },
          ],
        },
      ],
    });
    path = await startWritePath({
      yaml,
      definition: createBleMapper({ bindings: new SimBindings(world), adapterTimeoutMs: 500 }),
    });
    await path.online(DEV, ['target', 'mode', 'schedule']);
  }, 90_000);

  afterAll(async () => {
    await path?.stop();
    await world.stop();
  });

  it('21.337 on an int16 x 0.01 characteristic is applied as 21.34 with exactly one write', async () => {
    const res = await path.patch(DEV, { target: 21.337 });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 2000)); // time for a write storm to show itself
    expect(written).toHaveLength(1);
    expect(written[0]!.readInt16LE(0)).toBe(2134);
    const t = await path.twin(DEV);
    expect(t.delta).not.toHaveProperty('target');
    expect(t.desired.target).toMatchObject({ value: 21.337, write: { status: 'applied', deviceValue: 21.34 } });
    expect(t.reported.target?.value).toBe(21.34);
  });

  it('a write to a characteristic the peripheral does not let centrals write answers 502 WriteNotPermitted', async () => {
    const res = await path.patch(DEV, { mode: 2 });
    expect(res.status).toBe(502);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'ET_WRITE_FAILED', deviceCode: 'WriteNotPermitted', property: 'mode' });
    const t = await path.twin(DEV);
    expect(t.desired.mode?.write).toMatchObject({ status: 'failed', code: 'WriteNotPermitted' });
    expect(t.reported.mode?.value).toBe(1);
  });

  it('a write the peripheral answers with an ATT error gives 502 naming it after one attempt; once granted the same write is applied', async () => {
    const schedule = world.get(MAC)!.characteristic('fff0', 'fff3')!;
    const refused = await path.patch(DEV, { schedule: 3 });
    expect(refused.status).toBe(502);
    expect(refused.contentType).toContain('application/problem+json');
    expect(refused.body).toMatchObject({
      code: 'ET_WRITE_FAILED',
      deviceCode: 'InsufficientAuthentication',
      property: 'schedule',
    });
    expect(String(refused.body.detail)).toContain('ATT error 0x05 InsufficientAuthentication');
    expect(schedule.writeAttempts).toBe(1);
    const t = await path.twin(DEV);
    expect(t.desired.schedule?.write).toMatchObject({ status: 'failed', code: 'InsufficientAuthentication' });
    expect(t.reported.schedule?.value).toBe(0);

    schedule.grantWrites();
    const again = await path.patch(DEV, { schedule: 3 });
    expect(again.status).toBe(200);
    expect(schedule.writeAttempts).toBe(2);
    const after = await path.twin(DEV);
    expect(after.desired.schedule?.write?.status).toBe('applied');
    expect(after.reported.schedule?.value).toBe(3);
    expect(after.delta).not.toHaveProperty('schedule');
  });
});

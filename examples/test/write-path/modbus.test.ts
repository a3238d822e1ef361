/**
 * Writes to an independent Modbus slave (Debian's pymodbus) through edgecore's HTTP API: a
 * float32 register and a scaled integer register converge with one write each (counted by the
 * slave), and a write the slave answers with exception 2 gives 502 naming it, until the slave
 * accepts writes again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modbusMapper } from '@edgetwin/mapper-modbus';
import { freePort, stopProcess, waitFor, waitForPort } from '@edgetwin/sdk/testing';
import { missingPymodbus } from '../../../mappers/modbus/test/helpers/peers.js';
import { NODE, startWritePath, type WritePath } from './harness.js';

const DEV = 'default/plc-1';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'pymodbus_writes.py');
const skip = missingPymodbus();

function yaml(port: number): string {
  const hr = (offset: number, extra = '') =>
    `{ protocolName: modbus, configData: { register: HoldingRegister, offset: ${offset}${extra} } }`;
  return `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: { name: plc, namespace: default }
spec:
  protocol: modbus
  properties:
    - { name: setpoint, type: FLOAT, accessMode: ReadWrite }
    - { name: flow, type: FLOAT, accessMode: ReadWrite }
    - { name: limit, type: INT, accessMode: ReadWrite }
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: { name: plc-1, namespace: default }
spec:
  deviceModelRef: { name: plc }
  nodeName: ${NODE}
  protocol:
    protocolName: modbus
    configData: { ip: 127.0.0.1, port: ${port}, slaveID: 1 }
  properties:
    - { name: setpoint, collectCycle: 200, reportCycle: 200, visitors: ${hr(10, ', dataType: float32')} }
    - { name: flow, collectCycle: 200, reportCycle: 200, visitors: ${hr(20, ', dataType: uint16, scale: 0.1')} }
    - { name: limit, collectCycle: 200, reportCycle: 200, visitors: ${hr(30, ', dataType: uint16')} }
`;
}

describe.skipIf(skip)('the write path against pymodbus', () => {
  let slave: ChildProcess;
  let out = '';
  let path: WritePath;
  const writesAt = (address: number) => out.split('\n').filter((l) => l.startsWith(`write ${address} `)).length;
  const command = async (line: string) => {
    slave.stdin!.write(`${line}\n`);
    await waitFor(() => out.includes(`ok ${line}`), 5000, `pymodbus to take "${line}"`);
  };

  beforeAll(async () => {
    const port = await freePort();
    const spec = [
      { address: 10, float32: 20 },
      { address: 20, uint16: 200 },
      { address: 30, uint16: 1 },
    ];
    slave = spawn('/usr/bin/python3', [SCRIPT, String(port), JSON.stringify(spec)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    slave.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    slave.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitForPort(port, 15_000);
    path = await startWritePath({ yaml: yaml(port), definition: modbusMapper });
    await path.online(DEV, ['setpoint', 'flow', 'limit']);
  }, 90_000);

  afterAll(async () => {
    await path?.stop();
    if (slave) await stopProcess(slave);
  });

  it('21.3 on a float32 register is applied with exactly one write and the delta clears', async () => {
    const res = await path.patch(DEV, { setpoint: 21.3 });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 2000)); // time for a write storm to show itself
    expect(writesAt(10)).toBe(1);
    const t = await path.twin(DEV);
    expect(t.delta).not.toHaveProperty('setpoint');
    // The codec prints a float32 at its shortest (21.3); either way desired and reported agree.
    expect(t.desired.setpoint?.write?.status).toBe('applied');
    expect(t.reported.setpoint?.value).toBeCloseTo(21.3, 5);
    expect(t.desired.setpoint?.write?.deviceValue).toBe(t.reported.setpoint?.value);
  });

  it('21.37 on a register with scale 0.1 is applied as 21.4 with one write', async () => {
    const res = await path.patch(DEV, { flow: 21.37 });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000));
    expect(writesAt(20)).toBe(1);
    const t = await path.twin(DEV);
    expect(t.delta).not.toHaveProperty('flow');
    expect(t.desired.flow).toMatchObject({ value: 21.37, write: { status: 'applied', deviceValue: 21.4 } });
    expect(t.reported.flow?.value).toBe(21.4);
  });

  it('a write answered with exception 2 gives 502 naming it; once the slave accepts writes the value is applied', async () => {
    await command('lock 30');
    const refused = await path.patch(DEV, { limit: 7 });
    expect(refused.status).toBe(502);
    expect(refused.contentType).toContain('application/problem+json');
    expect(refused.body).toMatchObject({
      code: 'ET_WRITE_FAILED',
      deviceCode: 'IllegalDataAddress',
      property: 'limit',
    });
    expect(String(refused.body.reason)).toContain('Modbus exception 2');
    const t = await path.twin(DEV);
    expect(t.desired.limit?.write).toMatchObject({ status: 'failed', code: 'IllegalDataAddress' });
    expect(out.split('\n').filter((l) => l.startsWith('refused 30 ')).length).toBe(1);

    await command('unlock 30');
    const again = await path.patch(DEV, { limit: 7 });
    expect(again.status).toBe(200);
    const after = await path.twin(DEV);
    expect(after.desired.limit?.write?.status).toBe('applied');
    expect(after.reported.limit?.value).toBe(7);
    expect(writesAt(30)).toBe(1);
  });
});

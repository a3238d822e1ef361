import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDeviceDirectory } from '@edgetwin/edgecore';
import { waitFor } from '@edgetwin/sdk/testing';
import { startEdgecore, tempDir, type EdgecoreProcess } from './helpers/edgecore-process.js';

const fixture = join(import.meta.dirname, 'fixtures', 'thermostat.yaml');

const device = (name: string, ip: string) => `apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: { name: ${name}, namespace: default }
spec:
  deviceModelRef: { name: thermostat-model }
  nodeName: edge-1
  protocol: { protocolName: modbus, configData: { communicateMode: TCP, ip: ${ip}, port: 5020, slaveID: 1 } }
  properties:
    - name: setpoint
`;

function dirWith(files: Record<string, string>): string {
  const dir = tempDir('devfiles');
  copyFileSync(fixture, join(dir, 'thermostat.yaml'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('devices files: size limit and duplicate devices', () => {
  let core: EdgecoreProcess | undefined;
  const dirs: string[] = [];
  afterEach(async () => {
    await core?.kill();
    core = undefined;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a file over the size limit is not read; the error names the file and the limit; other files load', async () => {
    const big = device('big', '10.0.0.1') + `# ${'x'.repeat(5000)}\n`;
    const dir = dirWith({ 'big.yaml': big, 'small.yaml': device('small', '10.0.0.2') });
    dirs.push(dir);
    const c = await loadDeviceDirectory(dir, 'edge-1', { maxFileBytes: 4096 });
    expect(c.devices.map((d) => d.id).sort()).toEqual(['default/small', 'default/thermostat-1']);
    expect(c.problems).toHaveLength(1);
    const e = c.problems[0]!.error;
    expect(e.code).toBe('ET_TOO_LARGE');
    expect(e.message).toContain(join(dir, 'big.yaml'));
    expect(e.message).toMatch(/over the devices-file size limit of 4096 bytes/);
    expect(e.details).toMatchObject({ file: join(dir, 'big.yaml'), limit: 4096, size: Buffer.byteLength(big) });
  });

  it('a Device defined again in a file that sorts first does not take over; the error names both files', async () => {
    const dir = dirWith({ 'b.yaml': device('boiler', '10.0.0.1') });
    dirs.push(dir);
    const first = await loadDeviceDirectory(dir, 'edge-1');
    expect(first.problems).toEqual([]);
    writeFileSync(join(dir, 'a.yaml'), device('boiler', '10.0.0.99'));
    const again = await loadDeviceDirectory(dir, 'edge-1', { running: first.sources });
    const boiler = again.devices.find((d) => d.id === 'default/boiler')!;
    expect(boiler.device.spec.protocol?.configData).toMatchObject({ ip: '10.0.0.1' });
    expect(again.problems).toHaveLength(1);
    const msg = again.problems[0]!.error.message;
    expect(msg).toContain(join(dir, 'a.yaml'));
    expect(msg).toContain(join(dir, 'b.yaml'));
    expect(msg).toMatch(
      /a\.yaml \(document 1\): Device default\/boiler is already defined in .*b\.yaml \(document 1\) \(the running one\); this one is ignored/,
    );
  });

  it('edgecore keeps the running device when an intruding file appears, and refuses an oversized file with a clear log', async () => {
    const dir = dirWith({ 'b.yaml': device('boiler', '10.0.0.1') });
    dirs.push(dir);
    core = await startEdgecore({ devicesDir: dir, extraArgs: ['--max-devices-file-bytes', '4096'] });
    const api = `${core.http}/api/v1/devices/default/boiler`;
    const ipOf = async () =>
      ((await (await fetch(api)).json()) as { device: { spec: { protocol: { configData: { ip: string } } } } }).device
        .spec.protocol.configData.ip;
    expect(await ipOf()).toBe('10.0.0.1');

    writeFileSync(join(dir, 'a.yaml'), device('boiler', '10.0.0.99'));
    const dup = await waitFor(
      () => core!.logEntries().find((l) => String(l.msg).includes('is already defined in')),
      15_000,
      'the duplicate device error in the log',
    );
    expect(dup.msg).toContain('a.yaml');
    expect(dup.msg).toContain('b.yaml (document 1) (the running one)');
    expect(await ipOf()).toBe('10.0.0.1');

    writeFileSync(join(dir, 'huge.yaml'), device('huge', '10.0.0.3') + `# ${'x'.repeat(5000)}\n`);
    const big = await waitFor(
      () => core!.logEntries().find((l) => l.code === 'ET_TOO_LARGE'),
      15_000,
      'the file-size error in the log',
    );
    expect(big.msg).toMatch(/huge\.yaml: \d+ bytes, over the devices-file size limit of 4096 bytes/);
    expect((await fetch(`${core.http}/api/v1/devices/default/huge`)).status).toBe(404);
    expect(await ipOf()).toBe('10.0.0.1');
  }, 60_000);
});

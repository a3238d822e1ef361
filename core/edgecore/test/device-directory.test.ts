import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDeviceDirectory } from '@edgetwin/edgecore';
import { tempDir } from './helpers/edgecore-process.js';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);

function dirWith(files: Record<string, string>): string {
  const dir = tempDir('yaml');
  copyFileSync(fixture('thermostat.yaml'), join(dir, 'thermostat.yaml'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const device = (name: string, extra = '') => `apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: { name: ${name} }
spec:
  deviceModelRef: { name: thermostat-model }
  protocol: { protocolName: modbus }
  properties:
    - name: setpoint
${extra}`;

describe('the devices directory', () => {
  it('loads models and devices from a multi-document file, with spec desired values typed', async () => {
    const c = await loadDeviceDirectory(dirWith({}), 'edge-1');
    expect(c.problems).toEqual([]);
    expect(c.models.map((m) => m.metadata.name)).toEqual(['thermostat-model']);
    expect(c.devices.map((d) => d.id)).toEqual(['default/thermostat-1']);
    expect(c.devices[0]!.properties.find((p) => p.name === 'setpoint')!.specDesired).toBe(21);
  });

  it('a YAML syntax error names the file and the document, and the other files still load', async () => {
    const c = await loadDeviceDirectory(dirWith({ 'broken.yaml': 'kind: Device\nmetadata: { name: x\n' }), 'edge-1');
    expect(c.devices.map((d) => d.id)).toEqual(['default/thermostat-1']);
    expect(c.problems).toHaveLength(1);
    expect(c.problems[0]!.error.code).toBe('ET_YAML_PARSE');
    expect(c.problems[0]!.error.message).toMatch(/broken\.yaml \(document 1\): YAML syntax error/);
  });

  it('a schema violation names the file, the document and the field with what was expected', async () => {
    const bad = `---\n${device('ok-device')}---\n${device('bad-device').replace('name: setpoint', 'name: setpoint\n      collectCycle: soon')}`;
    const c = await loadDeviceDirectory(dirWith({ 'two.yaml': bad }), 'edge-1');
    expect(c.devices.map((d) => d.id).sort()).toEqual(['default/ok-device', 'default/thermostat-1']);
    const msg = c.problems[0]!.error.message;
    expect(msg).toContain('two.yaml (document 2)');
    expect(msg).toContain('/spec/properties/0/collectCycle');
    expect(msg).toMatch(/Expected integer/i);
  });

  it('a device naming an unknown model is reported with the field', async () => {
    const c = await loadDeviceDirectory(
      dirWith({ 'x.yaml': device('orphan').replace('thermostat-model', 'no-such-model') }),
      'edge-1',
    );
    const p = c.problems[0]!;
    expect(p.error.code).toBe('ET_UNKNOWN_MODEL');
    expect(p.error.message).toMatch(
      /x\.yaml \(document 1\).*\/spec\/deviceModelRef\/name.*"no-such-model" does not exist/,
    );
  });

  it('a property the model lacks is reported with the field and the properties the model has', async () => {
    const c = await loadDeviceDirectory(
      dirWith({ 'x.yaml': device('typo').replace('name: setpoint', 'name: setpiont') }),
      'edge-1',
    );
    const p = c.problems[0]!;
    expect(p.error.code).toBe('ET_UNKNOWN_PROPERTY');
    expect(p.error.message).toContain(
      '/spec/properties/0/name: property "setpiont" is not in DeviceModel "thermostat-model"',
    );
    expect(p.error.message).toContain('temperature, setpoint, power');
  });

  it('a desired value of the wrong type is reported with the field', async () => {
    const c = await loadDeviceDirectory(
      dirWith({ 'x.yaml': device('wrong', '      desired: { value: "warm" }\n') }),
      'edge-1',
    );
    expect(c.problems[0]!.error.message).toMatch(
      /\/spec\/properties\/0\/desired\/value: expected an integer \(INT\), got "warm"/,
    );
  });

  it('skips devices of other nodes and says so', async () => {
    const c = await loadDeviceDirectory(dirWith({}), 'edge-2');
    expect(c.devices).toEqual([]);
    expect(c.otherNodes).toEqual([expect.objectContaining({ id: 'default/thermostat-1', nodeName: 'edge-1' })]);
  });

  it('an unknown kind is refused with the field', async () => {
    const c = await loadDeviceDirectory(
      dirWith({ 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' }),
      'edge-1',
    );
    expect(c.problems[0]!.error.message).toMatch(
      /cm\.yaml \(document 1\): field \/kind: expected "Device" or "DeviceModel", got "ConfigMap"/,
    );
  });
});

/**
 * Typed values that KubeEdge's `$hw` MQTT value pattern forbids (a STRING with a space, non-ASCII
 * text) reach edgecore's twin now that mappers report over DMI: a mapper (`defineMapper`, its
 * device an in-memory display) reports them, and a desired STRING with spaces set over HTTP is
 * written to the device and answered as applied.
 */
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineMapper } from '@edgetwin/sdk/mapper';
import { waitFor } from '@edgetwin/sdk/testing';
import { NODE, startWritePath, type WritePath } from './harness.js';

const DEV = 'default/display-1';
/** The device: one text register, read and written by the driver. */
const display = { text: 'a b' };

const textMapper = defineMapper({
  protocol: 'textdemo',
  protocolConfigSchema: Type.Object({}),
  visitorConfigSchema: Type.Object({}),
  createDriver: () => ({
    connect: () =>
      Promise.resolve({
        read: (props: readonly { name: string }[]) =>
          Promise.resolve(new Map(props.map((p) => [p.name, { value: display.text }]))),
        write: (_p: unknown, value: unknown) => {
          display.text = String(value);
          return Promise.resolve(undefined);
        },
        close: () => Promise.resolve(),
      }),
    stop: () => Promise.resolve(),
  }),
});

const YAML = `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: { name: display, namespace: default }
spec:
  protocol: textdemo
  properties:
    - { name: text, type: STRING, accessMode: ReadWrite }
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: { name: display-1, namespace: default }
spec:
  deviceModelRef: { name: display }
  nodeName: ${NODE}
  protocol: { protocolName: textdemo }
  properties:
    - { name: text, collectCycle: 100, reportCycle: 100 }
`;

describe('STRING values over DMI into edgecore', () => {
  let path: WritePath;
  beforeAll(async () => {
    path = await startWritePath({ yaml: YAML, definition: textMapper });
  }, 60_000);
  afterAll(async () => {
    await path?.stop();
  });

  it('a STRING with a space and non-ASCII text reach the twin; a desired STRING with spaces is applied', async () => {
    const first = await path.online(DEV, ['text']);
    expect(first.reported.text?.value).toBe('a b');
    display.text = 'Grüße, 温度 25 °C';
    await waitFor(
      async () => (await path.twin(DEV)).reported.text?.value === 'Grüße, 温度 25 °C',
      20_000,
      'the non-ASCII text in the twin',
    );
    const res = await path.patch(DEV, { text: 'set over HTTP, with spaces' });
    expect(res.status).toBe(200);
    expect(display.text).toBe('set over HTTP, with spaces');
    const after = await path.twin(DEV);
    expect(after.reported.text?.value).toBe('set over HTTP, with spaces');
    expect(after.desired.text?.write?.status).toBe('applied');
  }, 60_000);
});

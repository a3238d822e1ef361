/**
 * The devices of the flood tests: one DeviceModel `flood` (protocol `flood`, no mapper of ours) with
 * INT properties p0..p{props-1}, and devices `{prefix}-0`..`{prefix}-{devices-1}` on node edge-1.
 */
export function floodDevicesYaml(opts: { devices: number; props: number; prefix: string }): string {
  const names = Array.from({ length: opts.props }, (_, p) => `p${p}`);
  const docs = [
    [
      'apiVersion: devices.kubeedge.io/v1beta1',
      'kind: DeviceModel',
      'metadata: { name: flood, namespace: default }',
      'spec:',
      '  protocol: flood',
      '  properties:',
      ...names.map((n) => `    - { name: ${n}, type: INT, accessMode: ReadWrite }`),
    ].join('\n'),
  ];
  for (let d = 0; d < opts.devices; d++) {
    docs.push(
      [
        'apiVersion: devices.kubeedge.io/v1beta1',
        'kind: Device',
        `metadata: { name: ${opts.prefix}-${d}, namespace: default }`,
        'spec:',
        '  deviceModelRef: { name: flood }',
        '  nodeName: edge-1',
        `  properties: [${names.map((n) => `{ name: ${n} }`).join(', ')}]`,
      ].join('\n'),
    );
  }
  return `${docs.join('\n---\n')}\n`;
}

/** The benchmarks' devices: `bench:twin` and `bench:startup` load the same YAML. */

/** One DeviceModel per namespace `m{k}` and `devices / mappers` Devices in each, as one YAML file. */
export function devicesYaml(devices: number, props: string[], mappers: number): string {
  const docs: string[] = [];
  for (let k = 0; k < mappers; k++) {
    const ns = `m${k}`;
    const modelProps = props.map(
      (p, i) => `    - { name: ${p}, type: ${i % 2 ? 'FLOAT' : 'INT'}, accessMode: ReadWrite }`,
    );
    docs.push(
      [
        'apiVersion: devices.kubeedge.io/v1beta1',
        'kind: DeviceModel',
        `metadata: { name: bench, namespace: ${ns} }`,
        'spec:',
        '  protocol: bench',
        '  properties:',
        ...modelProps,
      ].join('\n'),
    );
    for (let d = 0; d < devices / mappers; d++) {
      docs.push(
        [
          'apiVersion: devices.kubeedge.io/v1beta1',
          'kind: Device',
          `metadata: { name: dev-${d}, namespace: ${ns} }`,
          'spec:',
          '  deviceModelRef: { name: bench }',
          '  nodeName: bench-node',
          `  properties: [${props.map((p) => `{ name: ${p} }`).join(', ')}]`,
        ].join('\n'),
      );
    }
  }
  return docs.join('\n---\n') + '\n';
}

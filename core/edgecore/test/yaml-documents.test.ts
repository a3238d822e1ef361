/**
 * The devices loader reads YAML with js-yaml (fast) and falls back to yaml (exact errors with lines):
 * both must give the same resources and the same problems for every YAML file the project ships
 * (quickstart, examples, KubeEdge's vendored samples, fixtures), and a bad file must still be
 * reported document by document with its line.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { filesUnder } from '@edgetwin/sdk/testing';
import { parseResourceFile, parseResourceFileExactly, type ParsedFile } from '../src/devices/yaml-documents.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** What a caller sees: resources with their document index, problems by code and message. */
function seen(parsed: ParsedFile) {
  return {
    devices: parsed.devices.map((d) => [d.document, d.resource]),
    models: parsed.models.map((m) => [m.document, m.resource]),
    problems: parsed.problems.map((p) => [p.document, p.error.code, p.error.message]),
  };
}

describe('devices YAML: js-yaml fast path and yaml exact path agree', () => {
  const files = filesUnder(root, /\.ya?ml$/);

  it('finds the shipped YAML files (the control: the comparison below covers them)', () => {
    expect(files.length).toBeGreaterThanOrEqual(25);
    expect(files.some((f) => f.includes('kubeedge-samples'))).toBe(true);
  });

  it.each(files.map((f) => [relative(root, f), f]))('%s', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    const fast = seen(parseResourceFile(file, text));
    const exact = seen(parseResourceFileExactly(file, text));
    expect(fast).toEqual(exact);
  });

  it('reads the YAML 1.2 core scalars the same way (dates stay strings, 0b101 stays a string)', () => {
    const text = [
      'apiVersion: devices.kubeedge.io/v1beta1',
      'kind: DeviceModel',
      'metadata: { name: m, namespace: default }',
      'spec:',
      '  protocol: modbus',
      '  properties:',
      '    - { name: a, type: STRING, accessMode: ReadOnly, description: 2024-01-01 }',
      '    - { name: b, type: STRING, accessMode: ReadOnly, description: 0b101 }',
      '    - { name: c, type: INT, accessMode: ReadOnly, minimum: 0x1F, maximum: 1e3 }',
      '',
    ].join('\n');
    const fast = parseResourceFile('m.yaml', text);
    expect(seen(fast)).toEqual(seen(parseResourceFileExactly('m.yaml', text)));
    const props = fast.models[0]?.resource.spec.properties ?? [];
    expect(props.map((p) => p.description)).toEqual(['2024-01-01', '0b101', undefined]);
  });

  it('a syntax error in one document: that document is reported with its line, the others load', () => {
    const good = (name: string) =>
      `apiVersion: devices.kubeedge.io/v1beta1\nkind: DeviceModel\nmetadata: { name: ${name}, namespace: default }\nspec:\n  protocol: modbus\n`;
    const text = `${good('one')}---\nkind: [unclosed\n---\n${good('three')}`;
    const parsed = parseResourceFile('bad.yaml', text);
    expect(parsed.models.map((m) => m.resource.metadata.name)).toEqual(['one', 'three']);
    expect(parsed.problems).toHaveLength(1);
    expect(parsed.problems[0]?.error.code).toBe('ET_YAML_PARSE');
    expect(parsed.problems[0]?.error.message).toMatch(
      /^bad\.yaml \(document 2\): YAML syntax error: .* at line \d+, column \d+/,
    );
  });

  it('a duplicate key is an error in both readers, reported by the exact one', () => {
    const text = 'apiVersion: devices.kubeedge.io/v1beta1\nkind: DeviceModel\nkind: Device\n';
    const parsed = parseResourceFile('dup.yaml', text);
    expect(parsed.problems.map((p) => p.error.code)).toEqual(['ET_YAML_PARSE']);
    expect(parsed.problems[0]?.error.message).toMatch(/dup\.yaml \(document 1\).*line 3/);
  });
});

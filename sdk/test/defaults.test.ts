/**
 * applyDefaults (the schema-guided fast fill used when loading resources) must give exactly what
 * TypeBox's Value.Default gives: on every Device and DeviceModel document the project ships, on
 * values with fields missing at each level, and on schemas whose defaults sit under unions,
 * records and arrays (where it hands over to Value.Default).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { filesUnder } from '../src/testing/files.js';
import { applyDefaults } from '../src/schema/defaults.js';
import { DeviceModelSchema, DeviceSchema } from '../src/schema/resources.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function same(schema: TSchema, value: unknown): void {
  const expected = Value.Default(schema, Value.Clone(value));
  const actual = applyDefaults(schema, Value.Clone(value));
  expect(actual).toEqual(expected);
}

describe('applyDefaults gives what Value.Default gives', () => {
  it('on every Device and DeviceModel document in the repository', () => {
    let checked = 0;
    for (const file of filesUnder(root, /\.ya?ml$/)) {
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
        const value = doc.toJS() as { kind?: string } | null;
        if (value?.kind === 'Device') same(DeviceSchema, value);
        else if (value?.kind === 'DeviceModel') same(DeviceModelSchema, value);
        else continue;
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20); // the control: the documents were found
  });

  it('fills the defaults of a Device and a DeviceModel with fields missing at each level', () => {
    const device = { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'd' }, spec: {} };
    same(DeviceSchema, device);
    expect(
      (applyDefaults(DeviceSchema, Value.Clone(device)) as { spec: { properties: unknown[] } }).spec.properties,
    ).toEqual([]);
    same(DeviceModelSchema, { kind: 'DeviceModel', metadata: { name: 'm' }, spec: { protocol: 'modbus' } });
    same(DeviceModelSchema, { kind: 'DeviceModel' });
    same(DeviceSchema, { spec: { properties: [{ name: 'p' }, {}] } });
    for (const odd of [null, undefined, 5, 'x', [], { spec: null }, { spec: [] }, { spec: { properties: 'no' } }]) {
      same(DeviceSchema, odd);
    }
  });

  it('defaults under unions, records, arrays of unions and nested objects', () => {
    const schema = Type.Object({
      a: Type.Optional(Type.Number({ default: 1 })),
      nested: Type.Object({
        b: Type.String({ default: 'x' }),
        c: Type.Optional(Type.Object({ d: Type.Boolean({ default: true }) })),
      }),
      list: Type.Array(Type.Object({ e: Type.Number({ default: 2 }) }), { default: [] }),
      choice: Type.Union([Type.Object({ kind: Type.Literal('a'), f: Type.Number({ default: 3 }) }), Type.String()]),
      map: Type.Record(Type.String(), Type.Object({ g: Type.Number({ default: 4 }) })),
      untouched: Type.Object({ h: Type.Number() }),
    });
    for (const value of [
      {},
      { nested: {} },
      { nested: { c: {} }, list: [{}, { e: 9 }], choice: { kind: 'a' }, map: { k: {} }, untouched: {} },
      { choice: 'plain', map: {}, list: undefined },
      { a: 7, nested: { b: 'y', c: { d: false } } },
    ]) {
      same(schema, value);
    }
  });
});

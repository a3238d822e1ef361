/**
 * The hand-written DMI codec (sdk/src/dmi/schema.ts field tables + codec.ts) against protobufjs, an
 * independent implementation (the one @grpc/proto-loader uses), reading the .proto itself: every
 * table matches the .proto, and every message round-trips both ways with the same decoded shape
 * as proto-loader's `{ keepCase: true, longs: Number, defaults: true }`.
 */
import { createRequire } from 'node:module';
import type * as Protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { DMI_CODEC, DMI_PROTO, DMI_SCHEMA, DMI_SERVICES, WireError, toAny } from '@edgetwin/sdk/dmi';

// protobufjs as proto-loader resolves it (a dependency of @grpc/proto-loader).
const requireFromLoader = createRequire(createRequire(import.meta.url).resolve('@grpc/proto-loader'));
const protobuf = requireFromLoader('protobufjs') as typeof Protobuf;
const root = new protobuf.Root().loadSync(DMI_PROTO, { keepCase: true });
root.resolveAll();
const TO_OBJECT = { longs: Number, defaults: true } as const;

/** Every message type of the .proto, by the name the tables use. */
function protoMessages(): Map<string, Protobuf.Type> {
  const out = new Map<string, Protobuf.Type>();
  const pkg = root.lookup('v1beta1') as Protobuf.Namespace;
  for (const obj of pkg.nestedArray) if (obj instanceof protobuf.Type) out.set(obj.name, obj);
  out.set('google.protobuf.Any', root.lookupType('google.protobuf.Any'));
  return out;
}
const TYPES = protoMessages();
const tableName = (t: Protobuf.Type) => (t.fullName === '.google.protobuf.Any' ? 'google.protobuf.Any' : t.name);

/** A value for every field, from protobufjs's reflection (not from our tables): non-default, varied. */
function sample(t: Protobuf.Type, seed: number): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  let i = seed;
  for (const f of t.fieldsArray) {
    i++;
    const one = (k: number): unknown => {
      if (f.resolvedType instanceof protobuf.Type) return sample(f.resolvedType, k);
      switch (f.type) {
        case 'string':
          return k % 3 === 0 ? `ünï ✓ ${f.name} ${k} % "q"` : `${f.name}-${k}`;
        case 'bytes':
          return Buffer.from([0, 255, k & 0xff, 0x80]);
        case 'bool':
          return true;
        case 'int32':
          return k % 2 ? -k * 1000 : 2_000_000_000;
        case 'int64':
          return k % 2 ? -(2 ** 40) - k : 2 ** 53 - 1 - k;
        default:
          throw new Error(`sample: type ${f.type} of ${t.name}.${f.name} not covered`);
      }
    };
    if (f instanceof protobuf.MapField) {
      obj[f.name] = { [`k${i}`]: one(i), 'ключ ✓': one(i + 1), '': one(i + 2) };
    } else if (f.repeated) obj[f.name] = [one(i), one(i + 1), f.type === 'string' ? '' : one(i + 2)];
    else obj[f.name] = one(i);
  }
  return obj;
}

const pjEncode = (t: Protobuf.Type, obj: object) => Buffer.from(t.encode(t.fromObject(obj)).finish());
const pjDecode = (t: Protobuf.Type, buf: Buffer) => t.toObject(t.decode(buf), TO_OBJECT);

describe('the DMI field tables', () => {
  it('name exactly the messages of the .proto', () => {
    expect(Object.keys(DMI_SCHEMA).sort()).toEqual([...TYPES.keys()].sort());
  });

  it('match the .proto field by field: name, number, type, repeated, map key', () => {
    for (const [name, t] of TYPES) {
      const want = t.fieldsArray.map((f) => ({
        name: f.name,
        no: f.id,
        type: f.resolvedType ? 'message' : f.type,
        message: f.resolvedType ? tableName(f.resolvedType as Protobuf.Type) : undefined,
        repeated: f.repeated && !(f instanceof protobuf.MapField),
        mapKey: f instanceof protobuf.MapField ? f.keyType : undefined,
      }));
      const got = (DMI_SCHEMA[name] ?? []).map((f) => ({
        name: f.name,
        no: f.no,
        type: f.type,
        message: f.message,
        repeated: f.repeated === true,
        mapKey: f.mapKey,
      }));
      const byNo = (a: { no: number }, b: { no: number }) => a.no - b.no;
      expect(got.sort(byNo), `message ${name}`).toEqual(want.sort(byNo));
    }
  });

  it('name the services and methods of the .proto with their request and response types', () => {
    for (const [service, methods] of Object.entries(DMI_SERVICES)) {
      const svc = root.lookupService(`v1beta1.${service}`);
      expect(Object.keys(methods).sort()).toEqual(Object.keys(svc.methods).sort());
      for (const [method, [req, res]] of Object.entries(methods)) {
        const m = svc.methods[method]!;
        expect([req, res], `${service}.${method}`).toEqual([m.requestType, m.responseType]);
      }
    }
  });
});

describe('the DMI codec against protobufjs', () => {
  for (const [name, t] of TYPES) {
    it(`${name}: round-trips both ways with every field set`, () => {
      for (const seed of [0, 1, 2]) {
        const value = sample(t, seed);
        const reference = pjDecode(t, pjEncode(t, value));
        const ours = DMI_CODEC.encode(name, value);
        expect(pjDecode(t, ours)).toEqual(reference); // protobufjs reads what we write
        expect(DMI_CODEC.decode(name, pjEncode(t, value))).toEqual(reference); // we read what protobufjs writes
        expect(DMI_CODEC.decode(name, ours)).toEqual(reference);
      }
    });

    it(`${name}: an empty message decodes with proto-loader's defaults`, () => {
      expect(DMI_CODEC.decode(name, Buffer.alloc(0))).toEqual(pjDecode(t, Buffer.alloc(0)));
      expect(DMI_CODEC.encode(name, {})).toHaveLength(0);
    });
  }

  it('keeps configData values packed by toAny (Any as type_url + bytes)', () => {
    const t = TYPES.get('CustomizedValue')!;
    const value = {
      data: { s: toAny('a b ✓'), n: toAny(-5), f: toAny(0.1), b: toAny(true), z: toAny(0), e: toAny('') },
    };
    const decoded = DMI_CODEC.decode('CustomizedValue', DMI_CODEC.encode('CustomizedValue', value));
    expect(decoded).toEqual(pjDecode(t, pjEncode(t, value)));
    expect(decoded).toEqual({
      data: Object.fromEntries(
        Object.entries(value.data).map(([k, v]) => [k, { type_url: v.type_url, value: Buffer.from(v.value) }]),
      ),
    });
  });

  it('writes default scalars as absent, the way proto3 does, and nested messages given as {}', () => {
    const t = TYPES.get('Device')!;
    const bytes = DMI_CODEC.encode('Device', { name: '', namespace: 'ns', spec: {}, status: null });
    expect(pjDecode(t, bytes)).toMatchObject({ name: '', namespace: 'ns', status: null });
    expect(pjDecode(t, bytes).spec).toEqual(pjDecode(TYPES.get('DeviceSpec')!, Buffer.alloc(0)));
  });

  it('skips unknown fields of every wire type (a newer peer)', () => {
    const t = TYPES.get('ReportDeviceStatesRequest')!;
    const known = pjEncode(t, { deviceName: 'd', deviceNamespace: 'n', state: 'ok' });
    const unknown = Buffer.from([
      ...[(40 << 3) | 0, 0xff, 0xff, 0x01], // varint
      ...[(41 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8], // fixed64
      ...[(42 << 3) | 2, 3, 0x61, 0x62, 0x63], // length-delimited
      ...[(43 << 3) | 5, 1, 2, 3, 4], // fixed32
      ...[(44 << 3) | 3, (1 << 3) | 0, 7, (44 << 3) | 4], // a group holding a varint
    ]);
    expect(DMI_CODEC.decode('ReportDeviceStatesRequest', Buffer.concat([unknown, known, unknown]))).toEqual(
      pjDecode(t, known),
    );
  });

  it('reads 64-bit integers as protobufjs does with longs: Number, negative ones included', () => {
    const t = TYPES.get('PushMethodHTTP')!;
    for (const port of [
      0,
      1,
      127,
      128,
      2 ** 31,
      2 ** 32,
      2 ** 32 + 1,
      2 ** 53 - 1,
      -1,
      -128,
      -(2 ** 32),
      -(2 ** 53 - 1),
    ]) {
      const bytes = pjEncode(t, { port });
      expect(DMI_CODEC.decode('PushMethodHTTP', bytes).port, `decode ${port}`).toBe(port);
      // protobufjs writes a 0 it was given; proto3 leaves it out: only non-zero values compare as bytes.
      if (port !== 0) expect(DMI_CODEC.encode('PushMethodHTTP', { port }), `encode ${port}`).toEqual(bytes);
    }
  });

  it('refuses truncated data and says what is wrong', () => {
    const bytes = DMI_CODEC.encode('ReportDeviceStatesRequest', { deviceName: 'device', state: 'ok' });
    expect(() => DMI_CODEC.decode('ReportDeviceStatesRequest', bytes.subarray(0, 4))).toThrow(WireError);
    expect(() => DMI_CODEC.decode('ReportDeviceStatesRequest', Buffer.from([(1 << 3) | 0, 1]))).toThrow(
      /ReportDeviceStatesRequest\.deviceName \(field 1\): wire type 0, expected 2/,
    );
  });

  it('refuses a value of the wrong type, naming the field', () => {
    expect(() => DMI_CODEC.encode('RegisterDeviceRequest', { device: { spec: { properties: {} } } })).toThrow(
      /DeviceSpec\.properties \(field 3\): expected an array, got object/,
    );
    expect(() => DMI_CODEC.encode('MapperInfo', { address: 5 })).toThrow(/MapperInfo\.address .*expected bytes/);
  });
});

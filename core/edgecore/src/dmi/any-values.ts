/**
 * configData values as DMI carries them: each value a google.protobuf wrapper message packed in
 * an Any, the way KubeEdge's edgecore packs them (strings in StringValue, whole numbers in
 * Int64Value, other numbers in FloatValue, booleans in BoolValue) and mapper-framework unpacks
 * them. Objects and arrays, which KubeEdge cannot pack, travel as StringValue holding their JSON.
 * The wrappers are one field each, so they are encoded here (the DMI test decodes them with
 * protobufjs, an independent implementation).
 */
export interface AnyMessage {
  type_url: string;
  value: Buffer;
}

const PREFIX = 'type.googleapis.com/google.protobuf.';

function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** One configData value as KubeEdge packs it. */
export function toAny(value: unknown): AnyMessage {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    const body =
      value === '' ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, ...varint(BigInt(bytes.length))]), bytes]);
    return { type_url: `${PREFIX}StringValue`, value: body };
  }
  if (typeof value === 'boolean') {
    return { type_url: `${PREFIX}BoolValue`, value: Buffer.from(value ? [0x08, 1] : []) };
  }
  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    return { type_url: `${PREFIX}Int64Value`, value: Buffer.from(value === 0 ? [] : [0x08, ...varint(BigInt(value))]) };
  }
  if (typeof value === 'number') {
    const b = Buffer.alloc(5);
    b[0] = 0x0d;
    b.writeFloatLE(value, 1);
    return { type_url: `${PREFIX}FloatValue`, value: b };
  }
  return toAny(JSON.stringify(value ?? null));
}

export function toAnyMap(data: Record<string, unknown> | undefined): Record<string, AnyMessage> {
  const out: Record<string, AnyMessage> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = toAny(v);
  return out;
}

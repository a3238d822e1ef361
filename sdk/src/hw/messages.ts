/**
 * Payloads of KubeEdge's `$hw/events/...` twin protocol, with KubeEdge's validation rules.
 * Values travel as strings with `metadata.type`; timestamps are integer milliseconds.
 */
import type { Static } from '@sinclair/typebox';
import { EdgeTwinError } from '../errors.js';
import { checkWithSchema } from '../schema/validate.js';
import { excerpt, parseBoundedJson } from '../schema/limits.js';
import { WireTypes } from '../schema/values.js';
import { WRITE_CODE_MAX, WRITE_REASON_MAX } from '../schema/write-status.js';
import { Type } from '../typebox.js';

// The schemas below have no defaults: decoders check the parsed JSON in place (checkWithSchema).

export const TWIN_KEY_PATTERN = /^[a-zA-Z0-9-_.,:/@#]{1,128}$/;
export const TWIN_VALUE_PATTERN = /^[a-zA-Z0-9-_.,:/@#]{1,512}$/;

const TwinValueSchema = Type.Object({
  value: Type.Optional(Type.String({ maxLength: 512 })),
  metadata: Type.Optional(
    Type.Object({
      timestamp: Type.Optional(Type.Integer()),
      /** EdgeTwin extension: protocol status of an actual value (e.g. an OPC UA StatusCode name); KubeEdge ignores it. */
      quality: Type.Optional(Type.String({ maxLength: 128 })),
    }),
  ),
});
export type HwTwinValue = Static<typeof TwinValueSchema>;

const TwinVersionSchema = Type.Object({ cloud: Type.Integer(), edge: Type.Integer() });

/**
 * EdgeTwin extension (KubeEdge ignores it): the outcome of writing a desired value, sent by the
 * mapper with (or without) the value read back. Maps onto DMI's `Twin.observedDesired`
 * (`value` + string `metadata`) when the channel moves to DMI.
 */
const ObservedDesiredSchema = Type.Object({
  /** The desired value the outcome is about, as a twin string. */
  value: Type.String({ maxLength: 512 }),
  metadata: Type.Object({
    status: Type.Union([Type.Literal('applied'), Type.Literal('failed')]),
    timestamp: Type.Optional(Type.Integer()),
    /** The desired version written (`expected_version.edge` of the delta), when the mapper knew it. */
    version: Type.Optional(Type.Integer()),
    /** failed: the device's status code, e.g. BadUserAccessDenied. */
    code: Type.Optional(Type.String({ maxLength: WRITE_CODE_MAX })),
    reason: Type.Optional(Type.String({ maxLength: WRITE_REASON_MAX })),
  }),
});
export type HwObservedDesired = Static<typeof ObservedDesiredSchema>;

export const HwMsgTwinSchema = Type.Object({
  expected: Type.Optional(TwinValueSchema),
  actual: Type.Optional(TwinValueSchema),
  optional: Type.Optional(Type.Boolean()),
  metadata: Type.Optional(Type.Object({ type: Type.Optional(Type.String()) })),
  expected_version: Type.Optional(TwinVersionSchema),
  actual_version: Type.Optional(TwinVersionSchema),
  observed_desired: Type.Optional(ObservedDesiredSchema),
});
export type HwMsgTwin = Static<typeof HwMsgTwinSchema>;

const Base = {
  event_id: Type.Optional(Type.String()),
  timestamp: Type.Optional(Type.Integer()),
};

/** A twin of null deletes it, as in KubeEdge (`{"twin":{"setpoint":null}}`). */
export const HwTwinUpdateSchema = Type.Object({
  ...Base,
  twin: Type.Record(Type.String(), Type.Union([HwMsgTwinSchema, Type.Null()])),
});
export type HwTwinUpdate = Static<typeof HwTwinUpdateSchema>;

export const HwBaseSchema = Type.Object(Base);
export type HwBase = Static<typeof HwBaseSchema>;

export const HwStateUpdateSchema = Type.Object({ ...Base, state: Type.String({ minLength: 1 }) });
export type HwStateUpdate = Static<typeof HwStateUpdateSchema>;

export interface HwResultError {
  event_id: string;
  timestamp: number;
  code: number;
  reason: string;
}

export interface HwDocumentEntry {
  last?: HwMsgTwin | undefined;
  current?: HwMsgTwin | undefined;
}

export interface HwMembershipDevice {
  id: string;
  name: string;
  description?: string;
  state?: string;
  twin?: Record<string, HwMsgTwin>;
}

/** JSON within the depth limit (a payload's size is its receiver's to check, before decoding). */
function parseJson(payload: Buffer | string, topic: string): unknown {
  return parseBoundedJson(payload, `payload on ${topic}`, { maxPayloadBytes: Number.POSITIVE_INFINITY });
}

/** Parses and validates a twin/update request with KubeEdge's key, value and type rules. */
export function decodeTwinUpdate(payload: Buffer | string, topic: string): HwTwinUpdate {
  const msg = checkWithSchema(HwTwinUpdateSchema, parseJson(payload, topic), `twin update on ${topic}`);
  const names = Object.keys(msg.twin);
  if (names.length === 0) throw new EdgeTwinError('ET_SCHEMA', `twin update on ${topic}: "twin" is empty`);
  for (const [key, t] of Object.entries(msg.twin)) {
    if (!TWIN_KEY_PATTERN.test(key)) {
      throw new EdgeTwinError('ET_BAD_VALUE', `twin key ${excerpt(key)} must match ${TWIN_KEY_PATTERN.source}`, {
        details: { path: `/twin/${excerpt(key, 128)}` },
      });
    }
    if (t === null) continue;
    for (const side of ['expected', 'actual'] as const) {
      const v = t[side]?.value;
      // KubeEdge checks the pattern only on non-empty values; "" is then typed like any value.
      if (v !== undefined && v !== '' && !TWIN_VALUE_PATTERN.test(v)) {
        throw new EdgeTwinError(
          'ET_BAD_VALUE',
          `twin ${key}: ${side} value ${excerpt(v)} must match ${TWIN_VALUE_PATTERN.source}`,
          { details: { path: `/twin/${key}/${side}/value` } },
        );
      }
    }
    const type = t.metadata?.type;
    if (type !== undefined && !(WireTypes as readonly string[]).includes(type)) {
      throw new EdgeTwinError(
        'ET_BAD_VALUE',
        `twin ${key}: metadata.type ${excerpt(type)} must be one of ${WireTypes.join(', ')}`,
        {
          details: { path: `/twin/${key}/metadata/type` },
        },
      );
    }
  }
  return msg;
}

export function decodeBase(payload: Buffer | string, topic: string): HwBase {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  if (text.trim() === '') return {};
  return checkWithSchema(HwBaseSchema, parseJson(text, topic), `request on ${topic}`);
}

/** Parses a state/update request; the state is lowercased, as KubeEdge does (mappers-go sends "OK"). */
export function decodeStateUpdate(payload: Buffer | string, topic: string): HwStateUpdate {
  const msg = checkWithSchema(HwStateUpdateSchema, parseJson(payload, topic), `state update on ${topic}`);
  msg.state = msg.state.toLowerCase();
  return msg;
}

/** KubeEdge's `lastOnlineTime`: RFC 3339 in UTC, whole seconds (Go's time.RFC3339). */
export function formatLastOnline(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A new event id: random, unique enough for correlation. */
export function newEventId(): string {
  return globalThis.crypto.randomUUID();
}

export function errorResult(
  eventId: string | undefined,
  code: number,
  reason: string,
  now = Date.now(),
): HwResultError {
  return { event_id: eventId ?? '', timestamp: now, code, reason };
}

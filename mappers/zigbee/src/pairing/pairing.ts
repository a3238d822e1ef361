/**
 * Pairing over MQTT: `edgetwin/v1/nodes/{node}/zigbee/permit_join` with `{"seconds":N}` opens the
 * network (answer on `.../permit_join/result`); devices that join but no Device declares are
 * listed, retained, on `edgetwin/v1/nodes/{node}/zigbee/undeclared`.
 */
import { Type } from '@sinclair/typebox';
import { EdgeTwinError, errorMessage, parseWithSchema } from '@edgetwin/sdk';

export const zigbeeTopics = {
  permitJoin: (node: string) => `edgetwin/v1/nodes/${node}/zigbee/permit_join`,
  permitJoinResult: (node: string) => `edgetwin/v1/nodes/${node}/zigbee/permit_join/result`,
  undeclared: (node: string) => `edgetwin/v1/nodes/${node}/zigbee/undeclared`,
} as const;

export const PermitJoinRequestSchema = Type.Object(
  {
    seconds: Type.Integer({ minimum: 0, maximum: 254, description: 'how long joining stays open; 0 closes it' }),
    coordinator: Type.Optional(Type.String({ minLength: 1, description: 'only this coordinator (default: all)' })),
    id: Type.Optional(Type.String({ description: 'echoed in the result' })),
  },
  { additionalProperties: false },
);

export interface PermitJoinResult {
  id?: string;
  ok: boolean;
  seconds?: number;
  coordinators?: string[];
  /** ms since epoch when joining closes again. */
  until?: number;
  code?: string;
  reason?: string;
}

export interface UndeclaredDevice {
  ieeeAddress: string;
  networkAddress: number;
  coordinator: string;
  interview: string;
  modelId?: string;
  manufacturerName?: string;
  endpoints: { id: number; inputClusters: string[] }[];
}

export function parsePermitJoin(payload: Buffer): { seconds: number; coordinator?: string; id?: string } {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new EdgeTwinError('ET_SCHEMA', `permit_join payload is not JSON (${errorMessage(err)}); send {"seconds":60}`);
  }
  return parseWithSchema(PermitJoinRequestSchema, json, 'permit_join request');
}

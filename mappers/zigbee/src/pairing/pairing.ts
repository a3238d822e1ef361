/**
 * Pairing over MQTT: `edgetwin/v1/nodes/{node}/zigbee/permit_join` with `{"seconds":N}` opens the
 * network (answer on `.../permit_join/result`); each join and interview step is reported on
 * `.../zigbee/joined`; devices that join but no Device declares are listed, retained, on
 * `.../zigbee/undeclared`. The topics and payloads are the sdk's pairing contract
 * (`@edgetwin/sdk`, `hw/pairing.ts`), shared with edgecore and the broker's ACLs.
 */
import {
  EdgeTwinError,
  errorMessage,
  parseWithSchema,
  PermitJoinRequestSchema,
  zigbeePairingTopics,
  type PairingCommandResult,
  type PermitJoinRequest,
  type UndeclaredZigbeeDevice,
} from '@edgetwin/sdk';

export { PermitJoinRequestSchema };
export const zigbeeTopics = zigbeePairingTopics;
export type PermitJoinResult = PairingCommandResult;
export type UndeclaredDevice = UndeclaredZigbeeDevice;

export function parsePermitJoin(payload: Buffer): PermitJoinRequest {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new EdgeTwinError('ET_SCHEMA', `permit_join payload is not JSON (${errorMessage(err)}); send {"seconds":60}`);
  }
  return parseWithSchema(PermitJoinRequestSchema, json, 'permit_join request');
}

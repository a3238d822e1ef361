/**
 * The outcome of writing a desired value to a device, as the twin keeps it per desired property
 * (`twin.desired[prop].write`) and as mappers report it (`observed_desired` in a `$hw`
 * twin/update). One shape everywhere: HTTP, server-sent events, data topics, SQLite.
 */
import type { Static } from '@sinclair/typebox';
import { Type } from '../typebox.js';

export const WriteStatuses = ['pending', 'applied', 'failed'] as const;
export type WriteStatusName = (typeof WriteStatuses)[number];

/** Longest `code` and `reason` carried (longer ones are cut). */
export const WRITE_CODE_MAX = 128;
export const WRITE_REASON_MAX = 512;

export const WriteStateSchema = Type.Object(
  {
    status: Type.Union([Type.Literal('pending'), Type.Literal('applied'), Type.Literal('failed')], {
      description:
        'pending: not yet written or not yet confirmed; applied: the device holds the value (in its own precision); failed: the device refused it or never converged.',
    }),
    at: Type.Integer({ description: 'When the status last changed, ms since epoch (edge clock).' }),
    code: Type.Optional(
      Type.String({
        maxLength: WRITE_CODE_MAX,
        description:
          'failed: the device status, e.g. BadUserAccessDenied (OPC UA), IllegalDataAddress (Modbus exception 2), a GATT error, or an EdgeTwin code such as ET_NOT_CONVERGED.',
      }),
    ),
    reason: Type.Optional(Type.String({ maxLength: WRITE_REASON_MAX, description: 'failed: what went wrong.' })),
    deviceValue: Type.Optional(
      Type.Union([Type.Number(), Type.Boolean(), Type.String()], {
        description: 'applied: the value the device holds, e.g. 21.299999237060547 for 21.3 on a float32 node.',
      }),
    ),
  },
  { description: 'The outcome of writing this desired value to the device.' },
);
export type WriteState = Static<typeof WriteStateSchema>;

/** Cuts a code or reason to its limit so an outcome never carries an unbounded text. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The simulator's YAML format: slaves, their register tables and the behaviour of some registers.
 */
import { readFileSync } from 'node:fs';
import type { Static } from '@sinclair/typebox';
import { parse } from 'yaml';
import { EdgeTwinError, parseWithSchema } from '@edgetwin/sdk';
import { DataTypes } from '../src/config.js';
import { Type } from '@edgetwin/sdk/typebox';

export const SimDriftSchema = Type.Object(
  {
    min: Type.Number(),
    max: Type.Number(),
    step: Type.Number({ exclusiveMinimum: 0, default: 0.5, description: 'Largest change per tick.' }),
    intervalMs: Type.Integer({ minimum: 10, default: 1000 }),
    follow: Type.Optional(
      Type.String({
        description: 'Name of a register this value moves towards (e.g. a setpoint) instead of at random.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const SimRegisterSchema = Type.Object(
  {
    address: Type.Integer({ minimum: 0, maximum: 65535 }),
    name: Type.Optional(Type.String()),
    type: Type.Union(
      DataTypes.map((t) => Type.Literal(t)),
      { default: 'uint16' },
    ),
    value: Type.Union([Type.Number(), Type.String(), Type.Boolean()], { default: 0 }),
    /** Registers a string occupies. */
    length: Type.Integer({ minimum: 1, maximum: 125, default: 1 }),
    scale: Type.Number({ default: 1 }),
    isSwap: Type.Boolean({ default: false }),
    isRegisterSwap: Type.Boolean({ default: false }),
    drift: Type.Optional(SimDriftSchema),
  },
  { additionalProperties: false },
);
export type SimRegister = Static<typeof SimRegisterSchema>;

export const SimBitSchema = Type.Object(
  {
    address: Type.Integer({ minimum: 0, maximum: 65535 }),
    name: Type.Optional(Type.String()),
    value: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
export type SimBit = Static<typeof SimBitSchema>;

export const SimSlaveSchema = Type.Object(
  {
    id: Type.Integer({ minimum: 1, maximum: 247 }),
    size: Type.Integer({ minimum: 1, maximum: 65536, default: 10000, description: 'Addresses per table.' }),
    responding: Type.Boolean({ default: true }),
    delayMs: Type.Integer({ minimum: 0, default: 0, description: 'Answer this many ms late, like a slow device.' }),
    holdingRegisters: Type.Array(SimRegisterSchema, { default: [] }),
    inputRegisters: Type.Array(SimRegisterSchema, { default: [] }),
    coils: Type.Array(SimBitSchema, { default: [] }),
    discreteInputs: Type.Array(SimBitSchema, { default: [] }),
  },
  { additionalProperties: false },
);
export type SimSlaveConfig = Static<typeof SimSlaveSchema>;

export const SimulatorConfigSchema = Type.Object(
  { slaves: Type.Array(SimSlaveSchema, { minItems: 1 }) },
  { additionalProperties: false },
);
export type SimulatorConfig = Static<typeof SimulatorConfigSchema>;

/** Validates a simulator config (already parsed) and applies defaults. */
export function parseSimulatorConfig(value: unknown, file = 'simulator config'): SimulatorConfig {
  return parseWithSchema(SimulatorConfigSchema, value, file, { file });
}

/** Reads and validates a simulator YAML file. Throws ET_YAML_PARSE or ET_SCHEMA naming the file. */
export function loadSimulatorConfig(file: string): SimulatorConfig {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new EdgeTwinError('ET_YAML_PARSE', `${file}: ${(err as Error).message}`, { cause: err, details: { file } });
  }
  return parseSimulatorConfig(doc, file);
}

/** A simulator config as written (fields with defaults may be left out). */
export interface SimulatorConfigInput {
  slaves: SimSlaveInput[];
}
export interface SimSlaveInput {
  id: number;
  size?: number;
  responding?: boolean;
  delayMs?: number;
  holdingRegisters?: SimRegisterInput[];
  inputRegisters?: SimRegisterInput[];
  coils?: SimBitInput[];
  discreteInputs?: SimBitInput[];
}
export interface SimRegisterInput {
  address: number;
  name?: string;
  type?: SimRegister['type'];
  value?: number | string | boolean;
  length?: number;
  scale?: number;
  isSwap?: boolean;
  isRegisterSwap?: boolean;
  drift?: { min: number; max: number; step?: number; intervalMs?: number; follow?: string };
}
export interface SimBitInput {
  address: number;
  name?: string;
  value?: boolean;
}

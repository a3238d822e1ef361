/**
 * The template mapper: a complete mapper for "counter", a made-up line protocol over TCP.
 *   request  `GET <register>\n`          reply `OK <integer>\n` or `ERR <reason>\n`
 *   request  `SET <register> <integer>\n` reply `OK <integer read back>\n` or `ERR <reason>\n`
 * Layers, bottom up: config.ts (schemas), transport.ts (LineClient: lines over a socket), codec.ts
 * (parseReply), driver.ts; this file binds them into a mapper definition. See ../README.md.
 */
import { defineMapper } from '@edgetwin/sdk/mapper';
import { configDataSchemas } from './config.js';
import { createCounterDriver } from './driver.js';

export const counterMapper = defineMapper({
  protocol: 'counter',
  protocolConfigSchema: configDataSchemas.protocol,
  visitorConfigSchema: configDataSchemas.visitor,
  defaults: { collectCycleMs: 1000 },
  createDriver: () => createCounterDriver(),
});

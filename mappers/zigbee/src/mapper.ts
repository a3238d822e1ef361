/** The ZigBee mapper definition: `zigbeeMapper(options)` for runMapper/mapperCli. */
import { EdgeTwinError } from '@edgetwin/sdk';
import { defineMapper } from '@edgetwin/sdk/mapper';
import { ZigbeeDriver, type ZigbeeMapperOptions } from './driver/driver.js';
import { ZigbeeProtocolConfigSchema, ZigbeeVisitorConfigSchema } from './config.js';

export function zigbeeMapper(options: ZigbeeMapperOptions = {}) {
  return defineMapper({
    protocol: 'zigbee',
    protocolConfigSchema: ZigbeeProtocolConfigSchema,
    visitorConfigSchema: ZigbeeVisitorConfigSchema,
    defaults: { collectCycleMs: 10_000, reportCycleMs: 1_000 },
    createDriver: (ctx) => new ZigbeeDriver(ctx, options),
  });
}

/** Mapper defaults from EDGETWIN_ZIGBEE_* environment variables; ET_CONFIG_INVALID names a bad one. */
export function zigbeeOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ZigbeeMapperOptions {
  const int = (name: string, min: number, max: number): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `${name}=${JSON.stringify(v)} must be a whole number ${min}..${max}`,
        {
          details: { path: name },
        },
      );
    }
    return n;
  };
  const o: ZigbeeMapperOptions = {};
  if (env.EDGETWIN_ZIGBEE_COORDINATOR) o.coordinator = env.EDGETWIN_ZIGBEE_COORDINATOR;
  const channel = int('EDGETWIN_ZIGBEE_CHANNEL', 11, 26);
  if (channel !== undefined) o.channel = channel;
  const panId = int('EDGETWIN_ZIGBEE_PAN_ID', 1, 0xfffe);
  if (panId !== undefined) o.panId = panId;
  const permit = int('EDGETWIN_ZIGBEE_PERMIT_JOIN_MISSING', 0, 254);
  if (permit) o.permitJoinForMissingSeconds = permit;
  return o;
}

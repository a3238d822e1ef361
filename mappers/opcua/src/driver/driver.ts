/**
 * The OPC UA MapperDriver: one client connection, session and subscription per device.
 */
import { join } from 'node:path';
import type { DeviceSession, MapperContext, MapperDevice, MapperDriver, SessionHooks } from '@edgetwin/sdk/mapper';
import { resolveSecurity, type OpcuaProtocolConfig, type OpcuaVisitorConfig } from '../config.js';
import { openSession } from '../transport/client.js';
import { resolveNodes } from './nodes.js';
import { OpcuaDeviceSession } from './session.js';

export interface OpcuaDriverOptions {
  /** Environment for `passwordEnv` (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** The default PKI folder of the mapper inside its data dir. */
export function defaultPkiDir(dataDir: string): string {
  return join(dataDir, 'opcua-pki');
}

export function createOpcuaDriver(
  ctx: MapperContext,
  options: OpcuaDriverOptions = {},
): MapperDriver<OpcuaProtocolConfig, OpcuaVisitorConfig> {
  const open = new Set<DeviceSession<OpcuaVisitorConfig>>();
  const log = ctx.logger;
  return {
    async connect(
      device: MapperDevice<OpcuaProtocolConfig, OpcuaVisitorConfig>,
      hooks: SessionHooks,
      signal: AbortSignal,
    ): Promise<DeviceSession<OpcuaVisitorConfig>> {
      const security = resolveSecurity(device.id, device.protocol);
      const logger = log.child({ device: device.id });
      let session: OpcuaDeviceSession | undefined;
      const conn = await openSession({
        deviceId: device.id,
        config: device.protocol,
        security,
        pkiDir: device.protocol.pkiDir ?? defaultPkiDir(ctx.dataDir),
        logger,
        signal,
        clock: ctx.clock,
        ...(options.env ? { env: options.env } : {}),
        onLost: (err) => hooks.onLost(err),
      });
      try {
        const nodes = await resolveNodes(conn.session, device.id, device.properties);
        for (const n of nodes.values()) {
          if (n.error) logger.warn({ property: n.property.name, err: n.error.message }, 'property unusable');
        }
        session = new OpcuaDeviceSession(device.id, conn, nodes, hooks, logger);
      } catch (err) {
        await conn.close();
        throw err;
      }
      const s = session;
      const tracked: DeviceSession<OpcuaVisitorConfig> = {
        read: (p, sig) => s.read(p, sig),
        subscribe: (p, sig) => s.subscribe(p, sig),
        write: (p, v, sig) => s.write(p, v, sig),
        represent: (p, v) => s.represent(p, v),
        close: async () => {
          open.delete(tracked);
          await s.close();
        },
      };
      open.add(tracked);
      return tracked;
    },
    async stop() {
      await Promise.all([...open].map((s) => s.close()));
    },
  };
}

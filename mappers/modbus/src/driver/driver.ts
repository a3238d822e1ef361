/**
 * The Modbus driver: turns a device's protocol configData into a pooled connection and a session.
 */
import type { Logger } from 'pino';
import { EdgeTwinError } from '@edgetwin/sdk';
import { type DeviceSession, type MapperDevice, type MapperDriver, type SessionHooks } from '@edgetwin/sdk/mapper';
import { type Clock } from '@edgetwin/sdk/util';
import { serialDeviceOf, type ModbusProtocolConfig, type ModbusVisitorConfig } from '../config.js';
import { ModbusSession } from './session.js';
import type { Endpoint } from '../transport/connection.js';
import { ConnectionPool } from '../transport/pool.js';

const PARITY = { none: 'none', N: 'none', even: 'even', E: 'even', odd: 'odd', O: 'odd' } as const;

/** The endpoint of a protocol config; throws ET_CONFIG_INVALID naming the missing field. */
export function endpointOf(p: ModbusProtocolConfig, deviceId = 'device'): Endpoint {
  if (p.communicateMode === 'RTU') {
    const path = serialDeviceOf(p);
    if (!path) {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `${deviceId}: field /spec/protocol/configData/serialPort: communicateMode RTU needs a serialPort (or KubeEdge's serialName), e.g. /dev/ttyUSB0`,
        { details: { path: '/spec/protocol/configData/serialPort' } },
      );
    }
    return {
      kind: 'rtu',
      path,
      baudRate: p.baudRate,
      dataBits: p.dataBits,
      parity: PARITY[p.parity],
      stopBits: p.stopBits,
    };
  }
  if (!p.ip) {
    throw new EdgeTwinError(
      'ET_CONFIG_INVALID',
      `${deviceId}: field /spec/protocol/configData/ip: communicateMode TCP needs an ip (host name or address)`,
      { details: { path: '/spec/protocol/configData/ip' } },
    );
  }
  return { kind: 'tcp', host: p.ip, port: p.port };
}

export interface ModbusDriverOptions {
  logger: Logger;
  clock?: Clock;
}

export type ModbusDriver = MapperDriver<ModbusProtocolConfig, ModbusVisitorConfig>;

export function createModbusDriver(opts: ModbusDriverOptions): ModbusDriver {
  const logger = opts.logger.child({ module: 'modbus' });
  const pool = new ConnectionPool(logger, opts.clock);
  return {
    async connect(
      device: MapperDevice<ModbusProtocolConfig, ModbusVisitorConfig>,
      hooks: SessionHooks,
      signal: AbortSignal,
    ): Promise<DeviceSession<ModbusVisitorConfig>> {
      const p = device.protocol;
      const endpoint = endpointOf(p, `Device ${device.id}`);
      const lease = await pool.acquire(
        endpoint,
        { connectTimeoutMs: p.connectTimeout, backoff: { initialMs: p.backoffInitialMs, maxMs: p.backoffMaxMs } },
        signal,
      );
      const log = logger.child({ device: device.id, slaveId: p.slaveID });
      const unsubscribe = lease.connection.onLost((err) => hooks.onLost(err));
      log.info({ endpoint: lease.connection.key }, 'connected');
      return new ModbusSession(lease, p, log, unsubscribe);
    },
    async stop() {
      await pool.closeAll();
    },
  };
}

/** Pairing (ZigBee permit-join, BLE scans) wired to edgecore: its broker identity and its mapper supervisor. */
import type { Logger } from 'pino';
import { MqttConnection } from '@edgetwin/sdk/mqtt';
import type { MapperProcessStatus } from '../../supervisor/mapper-supervisor.js';
import { PairingService, type PairingProtocol } from './pairing-service.js';

export { pairingRoutes } from './pairing-routes.js';
export { PairingService, PairingError, type PairingEvent, type PairingWindow } from './pairing-service.js';

export interface EdgePairingOptions {
  nodeName: string;
  logger: Logger;
  mqttUrl: string;
  /** edgecore's own broker identity (absent with --no-mqtt-auth). */
  credentials?: { username: string; password: string } | undefined;
  /** The supervised mapper processes; undefined when edgecore starts none (they run standalone). */
  mappers(): MapperProcessStatus[] | undefined;
}

export function createPairing(opts: EdgePairingOptions): PairingService {
  const log = opts.logger.child({ module: 'pairing' });
  return new PairingService({
    nodeName: opts.nodeName,
    logger: log,
    async connect(clientId) {
      const c = opts.credentials;
      const conn = new MqttConnection({
        url: opts.mqttUrl,
        clientId,
        waitForBroker: true,
        ...(c ? { username: c.username, password: c.password } : {}),
      });
      await conn.open();
      return conn;
    },
    mapperProblem(protocol: PairingProtocol) {
      const mappers = opts.mappers();
      if (!mappers) return undefined; // standalone mappers: ask, a silent one times out
      const m = mappers.find((x) => x.protocol === protocol);
      if (!m)
        return `no ${protocol} mapper runs on node ${opts.nodeName}: no Device of this node uses protocol ${protocol}`;
      if (m.state !== 'running')
        return `the ${protocol} mapper of node ${opts.nodeName} is ${m.state}${m.lastError ? ` (last error: ${m.lastError})` : ''}`;
      return undefined;
    },
  });
}

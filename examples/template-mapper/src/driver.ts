/**
 * Driver: opens a session per device (its own socket), reads properties one request each, writes
 * with the value read back. Cycles, retries, backoff and twins are the sdk runtime's, not the driver's.
 */
import type { Static } from '@sinclair/typebox';
import { formatValue } from '@edgetwin/sdk';
import type { MapperDriver, Reading } from '@edgetwin/sdk/mapper';
import { parseReply } from './codec.js';
import type { CounterProtocolConfig, CounterVisitorConfig } from './config.js';
import { LineClient } from './transport.js';

type Driver = MapperDriver<Static<typeof CounterProtocolConfig>, Static<typeof CounterVisitorConfig>>;

export function createCounterDriver(): Driver {
  return {
    async connect(device, hooks, signal) {
      const client = new LineClient(await LineClient.open(device.protocol.host, device.protocol.port, signal), (err) =>
        hooks.onLost(err),
      );
      const ask = async (line: string, s: AbortSignal) => parseReply(await client.request(line, s), line);
      return {
        async read(properties, s) {
          const out = new Map<string, Reading | Error>();
          for (const p of properties) {
            out.set(p.name, await ask(`GET ${p.visitor.register}`, s).catch((err: Error) => err));
          }
          return out;
        },
        write: (p, value, s) => ask(`SET ${p.visitor.register} ${formatValue(value)}`, s),
        close: () => Promise.resolve(client.close()),
      };
    },
    stop: () => Promise.resolve(), // nothing shared between devices: each session owns its socket
  };
}

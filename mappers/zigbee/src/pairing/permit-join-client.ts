/** The client side of permit-join (used by the CLI): publish a request, wait for the result. */
import { randomUUID } from 'node:crypto';
import { EdgeTwinError } from '@edgetwin/sdk';
import { connectAsync } from 'mqtt';
import { zigbeeTopics, type PermitJoinResult } from './pairing.js';

export async function permitJoinOverMqtt(opts: {
  mqttUrl: string;
  nodeName: string;
  seconds: number;
  coordinator?: string;
  timeoutMs?: number;
}): Promise<PermitJoinResult> {
  const client = await connectAsync(opts.mqttUrl, { connectTimeout: opts.timeoutMs ?? 10_000, reconnectPeriod: 0 });
  const id = randomUUID();
  try {
    const answer = new Promise<PermitJoinResult>((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(
            new EdgeTwinError(
              'ET_TIMEOUT',
              `no permit_join result from the zigbee mapper of node ${opts.nodeName}; is it running?`,
            ),
          ),
        opts.timeoutMs ?? 10_000,
      );
      client.on('message', (_topic, payload) => {
        let r: PermitJoinResult;
        try {
          r = JSON.parse(payload.toString('utf8')) as PermitJoinResult;
        } catch {
          return;
        }
        if (r.id !== id) return;
        clearTimeout(t);
        resolve(r);
      });
    });
    await client.subscribeAsync(zigbeeTopics.permitJoinResult(opts.nodeName), { qos: 1 });
    const req = { seconds: opts.seconds, id, ...(opts.coordinator ? { coordinator: opts.coordinator } : {}) };
    await client.publishAsync(zigbeeTopics.permitJoin(opts.nodeName), JSON.stringify(req), { qos: 1 });
    return await answer;
  } finally {
    await client.endAsync(true);
  }
}

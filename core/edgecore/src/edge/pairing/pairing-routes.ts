/**
 * Pairing on the HTTP API (under /api/v1): open ZigBee joining or a BLE scan for N seconds, close
 * them, and read what happens as server-sent events (or poll `GET /pairing`). Opening and closing
 * need a token with the `admin` scope: pairing lets a new radio device into the plant's network,
 * which is more than setting a desired value (`write`). Reading the events needs `read`.
 */
import { openEventStream } from '@edgetwin/device-twin';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { BLE_SCAN_MAX_SECONDS, isEdgeTwinError } from '@edgetwin/sdk';
import { PairingError, type PairingProtocol, type PairingService } from './pairing-service.js';

declare module 'fastify' {
  interface FastifySchema {
    /** Read by device-twin's OpenAPI collector. */
    summary?: string;
    description?: string;
  }
}

const ADMIN = 'Needs a bearer token with the admin scope when the API requires tokens.';

const WindowSchema = {
  type: 'object',
  properties: {
    protocol: { type: 'string', enum: ['zigbee', 'bluetooth'] },
    seconds: { type: 'integer' },
    until: { type: 'integer', description: 'ms since the epoch when the window closes' },
    coordinators: { type: 'array', items: { type: 'string' } },
  },
  required: ['protocol', 'seconds', 'until'],
} as const;

const body = (max: number) =>
  ({
    type: 'object',
    properties: { seconds: { type: 'integer', minimum: 1, maximum: max, description: `1 to ${max}` } },
    required: ['seconds'],
    additionalProperties: false,
  }) as const;

const PROBLEM = {
  type: 'object',
  description: 'RFC 9457 problem details (application/problem+json)',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
  },
  required: ['type', 'title', 'status', 'detail', 'code'],
} as const;

function sendPairingProblem(reply: FastifyReply, err: unknown) {
  if (!isEdgeTwinError(err)) throw err;
  const status = err instanceof PairingError ? err.status : 503;
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: `urn:edgetwin:error:${err.code}`,
      title:
        status === 400
          ? 'Bad request'
          : status === 409
            ? 'Conflict'
            : status === 504
              ? 'Mapper did not answer'
              : 'Not available',
      status,
      code: err.code,
      detail: err.message,
    });
}

export function pairingRoutes(api: FastifyInstance, pairing: PairingService): void {
  const open = new Set<() => void>();
  api.addHook('preClose', (done) => {
    for (const close of [...open]) close();
    done();
  });

  const start = (path: string, protocol: PairingProtocol, max: number, summary: string) =>
    api.post<{ Body: { seconds: number } }>(
      path,
      {
        config: { scope: 'admin' },
        schema: {
          summary,
          description: `${ADMIN} 503 ET_UNAVAILABLE when no ${protocol} mapper runs on this node; 504 ET_TIMEOUT when it does not answer; 409 when it refuses (its code and reason).`,
          body: body(max),
          response: { 200: WindowSchema, 400: PROBLEM, 409: PROBLEM, 503: PROBLEM, 504: PROBLEM },
        },
      },
      async (req, reply) => {
        try {
          const w =
            protocol === 'zigbee' ? await pairing.permitJoin(req.body.seconds) : await pairing.scan(req.body.seconds);
          return await reply.send(w);
        } catch (err) {
          return sendPairingProblem(reply, err);
        }
      },
    );
  const stop = (path: string, protocol: PairingProtocol, summary: string) =>
    api.delete(
      path,
      {
        config: { scope: 'admin' },
        schema: { summary, description: ADMIN, response: { 204: { type: 'null' }, 503: PROBLEM, 504: PROBLEM } },
      },
      async (_req, reply) => {
        try {
          await pairing.close(protocol);
          return await reply.code(204).send();
        } catch (err) {
          return sendPairingProblem(reply, err);
        }
      },
    );

  start('/pairing/zigbee/permit-join', 'zigbee', 254, 'Open the ZigBee network for joining for N seconds (1-254)');
  stop('/pairing/zigbee/permit-join', 'zigbee', 'Close the ZigBee network for joining');
  start(
    '/pairing/bluetooth/scan',
    'bluetooth',
    BLE_SCAN_MAX_SECONDS,
    `Scan for BLE advertisements for N seconds (1-${BLE_SCAN_MAX_SECONDS})`,
  );
  stop('/pairing/bluetooth/scan', 'bluetooth', 'Stop the BLE scan');

  api.get(
    '/pairing',
    {
      schema: {
        summary: 'Open pairing windows and the events of the current or last round (for polling)',
        response: {
          200: {
            type: 'object',
            properties: {
              windows: { type: 'array', items: WindowSchema },
              events: { type: 'array', items: { type: 'object', additionalProperties: true } },
            },
            required: ['windows', 'events'],
          },
        },
      },
    },
    async () => {
      await pairing.listen().catch(() => undefined);
      return pairing.snapshot();
    },
  );

  api.get(
    '/pairing/events',
    {
      schema: {
        summary: 'Server-sent events of pairing',
        description:
          'First `event: state` ({windows, events}), then `window` (opened: protocol, seconds, until), `zigbee-device` (ieeeAddress, networkAddress, status joined|started|successful|failed, modelId, manufacturerName, device when declared), `ble-advertisement` (address, name, rssi, serviceUuids, device when configured) and `window-end` (protocol, reason elapsed|stopped; BLE: seen, dropped).',
      },
    },
    async (_req, reply) => {
      await pairing.listen().catch(() => undefined);
      const res = openEventStream(reply);
      res.write(`retry: 2000\n\nevent: state\ndata: ${JSON.stringify(pairing.snapshot())}\n\n`);
      const onEvent = (e: { type: string }) => {
        if (!res.writableNeedDrain) res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      };
      pairing.on('event', onEvent);
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      const close = () => {
        pairing.off('event', onEvent);
        clearInterval(heartbeat);
        open.delete(close);
        if (!res.writableEnded) res.end();
      };
      open.add(close);
      res.once('close', close);
    },
  );
}

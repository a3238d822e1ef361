/**
 * ATT Error Responses over noble's websocket bindings (lib/websocket/bindings.js), whose protocol
 * has no error message. An extension both ends opt into:
 *
 * - on open, our side sends `{"action":"edgetwin","attErrors":1}`; servers that do not know it
 *   ignore unknown actions (noble's ws-slave.js and older simulators do), and their plain
 *   `write`/`read` answers work as before;
 * - a server that knows it (our simulator, `sim/ws-server.ts`) answers a refused request of that
 *   client with its usual answer plus `attError`: `{"type":"write", "peripheralUuid", "serviceUuid",
 *   "characteristicUuid", "attError": {"code": 5, "requestOpcode": 18, "handle": 3}}`. Clients that
 *   never sent the hello (unmodified noble) get no answer to a refused request, as a radio would
 *   look to them, never a false success.
 *
 * Our side sees each message before noble does (a listener prepended on the bindings' own
 * 'message' event), reports the error as an `AttErrorReport`, and retypes the message so noble
 * does not take it for a successful write or an empty read.
 */
import { EventEmitter } from 'node:events';
import { EdgeTwinError } from '@edgetwin/sdk';
import { ATT_ERROR_EVENT, type AttErrorReport } from './att-errors.js';
import type { NobleBindings } from './noble-types.js';

/** The hello our side sends; the simulator answers refusals with `attError` after it. */
export const ATT_ERRORS_HELLO = { action: 'edgetwin', attErrors: 1 } as const;

/** What the extension sets `type` to once it has taken a refused answer from noble. */
const TAKEN = 'edgetwin.attError';

interface WsLike {
  readyState: number;
  send(data: string): void;
  once(event: 'open', listener: () => void): unknown;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The report an extended answer carries, or undefined for a plain answer. */
export function attErrorOfMessage(message: Record<string, unknown>): AttErrorReport | undefined {
  const e = message.attError;
  if (typeof e !== 'object' || e === null) return undefined;
  const fields = e as Record<string, unknown>;
  const code = num(fields.code);
  const peripheralUuid = str(message.peripheralUuid);
  const serviceUuid = str(message.serviceUuid);
  const characteristicUuid = str(message.characteristicUuid);
  if (
    code === undefined ||
    peripheralUuid === undefined ||
    serviceUuid === undefined ||
    characteristicUuid === undefined
  ) {
    return undefined;
  }
  return {
    peripheralUuid,
    serviceUuid,
    characteristicUuid,
    requestOpcode: num(fields.requestOpcode) ?? (message.type === 'read' ? 0x0a : 0x12),
    handle: num(fields.handle) ?? 0,
    code,
  };
}

/**
 * Attaches the extension to a fresh instance of noble's websocket bindings (before its socket
 * opens). Throws ET_INTERNAL when the bindings are not the ones it was written for.
 */
export function websocketAttErrors(bindings: NobleBindings): EventEmitter {
  const ws = (bindings as unknown as { _ws?: Partial<WsLike> })._ws;
  if (typeof ws?.send !== 'function' || typeof ws.once !== 'function' || bindings.listenerCount('message') === 0) {
    throw new EdgeTwinError(
      'ET_INTERNAL',
      "noble's websocket bindings (@abandonware/noble/lib/websocket/bindings.js) have no _ws socket or 'message' event; the ATT error extension (mappers/ble/src/transport/websocket-att.ts) was written for noble 1.9.2-26",
    );
  }
  const socket = ws as WsLike;
  const source = new EventEmitter();
  source.setMaxListeners(0); // one listener per pending read or write, of every device
  bindings.prependListener('message', (message: unknown) => {
    if (typeof message !== 'object' || message === null) return;
    const m = message as Record<string, unknown>;
    const r = attErrorOfMessage(m);
    if (!r) return;
    m.type = TAKEN;
    source.emit(ATT_ERROR_EVENT, r);
  });
  const hello = () => socket.send(JSON.stringify(ATT_ERRORS_HELLO));
  if (socket.readyState === 1) hello();
  else socket.once('open', hello);
  return source;
}

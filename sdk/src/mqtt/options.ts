/** The options and events of `MqttConnection` (connection.ts). */
import type { MqttConnection } from './connection.js';

export interface MqttConnectionOptions {
  /** `mqtt://host:port` or `tcp://` (plain), `mqtts://` or `ssl://` (TLS); user:password@ allowed. */
  url: string;
  clientId: string;
  /** Keepalive in seconds (default 30). */
  keepaliveSeconds?: number;
  /** How long a connection attempt may take until CONNACK, ms (default 5000). */
  connectTimeoutMs?: number;
  /** Received messages not done yet before handing pauses (default 256). */
  maxInFlight?: number;
  /** Bytes waiting to be written before handing pauses (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Received messages held (not handed yet) before reading the socket pauses (default 4 x maxInFlight). */
  maxHeld?: number;
  /** QoS 1 messages sent and not acknowledged at most; more wait for a place (default 1024). */
  window?: number;
  /**
   * The connection the message handler publishes its answers on, when it is another one (as
   * edgecore does: requests in on one, answers out on another, so a paused reader never holds
   * back the PUBACKs that empty the window). Handing then waits for room in that connection's
   * window and socket instead of this one's.
   */
  outgoing?: MqttConnection;
  /** PUBACK a received QoS 1 message when its handler is done (default) or as soon as it is read. */
  ackWhen?: 'done' | 'read';
  /** Messages waiting and no PUBACK for this long: the connection is replaced, ms (default 20000). */
  ackTimeoutMs?: number;
  /** Reconnect delays (default 1 s doubling to 30 s, 20 % jitter). */
  reconnect?: { initialMs?: number; maxMs?: number };
  /**
   * The first connection too retries with backoff (emitting `offline`) until a broker answers, as
   * a daemon started before its broker needs; only a permanent error rejects `open()`. Without
   * it, the first failure rejects.
   */
  waitForBroker?: boolean;
  /** Extra TLS options for mqtts://: a private CA, a client certificate and its key. */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  /** Credentials; they win over a user:password@ in the URL (keep secrets out of URLs that get logged). */
  username?: string;
  password?: string;
}

export interface MqttConnectionEvents {
  /** PUBACKs freed places in the outgoing window (emitted once per batch read). */
  acked: [];
  /** A CONNACK accepted the connection (the first one and after every reconnect). */
  connect: [];
  /** The connection was lost or could not be made; a new attempt follows after `retryInMs`. */
  offline: [err: Error, retryInMs: number];
}

/** Where an MqttConnection connects, parsed once from a broker URL, and its error type. */
import { isIP } from 'node:net';

export class MqttError extends Error {
  override readonly name = 'MqttError';
  /** Retrying cannot help: a bad URL, or a broker that refused these credentials or this client. */
  readonly permanent: boolean;
  constructor(message: string, opts: { cause?: unknown; permanent?: boolean } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.permanent = opts.permanent ?? false;
  }
}

export interface BrokerAddress {
  host: string;
  port: number;
  tls: boolean;
  /** SNI name: the host when it is a name (SNI takes no IP addresses). */
  servername: string | undefined;
  username: string | undefined;
  password: string | undefined;
  /** The URL without credentials, for logs and messages. */
  safeUrl: string;
}

const SCHEMES: Record<string, { port: number; tls: boolean }> = {
  'mqtt:': { port: 1883, tls: false },
  'tcp:': { port: 1883, tls: false },
  'mqtts:': { port: 8883, tls: true },
  'ssl:': { port: 8883, tls: true },
};

/** Parses and checks a broker URL, naming what is wrong. */
export function parseBrokerUrl(url: string): BrokerAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MqttError(`"${url}" is not a broker URL; expected mqtt://host:port (or mqtts:// for TLS)`, {
      permanent: true,
    });
  }
  const scheme = SCHEMES[u.protocol];
  if (!scheme) {
    throw new MqttError(
      `broker URL "${url}": scheme ${u.protocol} is not supported here; use mqtt:// or tcp:// (plain) or mqtts:// or ssl:// (TLS)`,
      { permanent: true },
    );
  }
  if (!u.hostname) throw new MqttError(`broker URL "${url}" has no host`, { permanent: true });
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return {
    host,
    port: Number(u.port) || scheme.port,
    tls: scheme.tls,
    servername: isIP(host) ? undefined : host,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    safeUrl: `${u.protocol}//${u.host}`,
  };
}

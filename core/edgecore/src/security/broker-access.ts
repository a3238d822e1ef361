/**
 * Authentication and access control of the embedded broker, as aedes hooks. Identities come from
 * the users file (`identities.ts`) and are reloaded when it changes (`edgetwin users add|remove`
 * apply without a restart); a removed, expired or re-keyed identity's open connections are closed.
 * A TLS client certificate signed by the configured CA authenticates as the identity named by its
 * subject CN (like Mosquitto's `use_identity_as_username`). Anonymous clients are refused unless
 * `allowAnonymous` is set, and then have full access (the old, open behaviour).
 */
import { watch, type FSWatcher } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import type { Aedes, AuthenticateError, Client } from 'aedes';
import type { Logger } from 'pino';
import { errorMessage } from '@edgetwin/sdk';
import { isExpired, loadIdentities, type Identity } from './identities.js';
import { MqttPolicy, type PolicyContext } from './mqtt-policy.js';
import { verifyPassword } from './password-hash.js';
import { securityDir } from './secret-files.js';

export interface BrokerAccessOptions extends PolicyContext {
  dataDir: string;
  logger: Logger;
  allowAnonymous?: boolean;
  now?: () => number;
}

const ANONYMOUS: Identity = { name: '(anonymous)', role: 'edgecore', createdAt: 0 };

export class BrokerAccess {
  private users = new Map<string, Identity>();
  private readonly clients = new Map<Client, MqttPolicy>();
  private watcher: FSWatcher | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> = Promise.resolve();

  constructor(private readonly opts: BrokerAccessOptions) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Loads the identities and watches the security directory for changes. */
  async start(): Promise<void> {
    await this.reload();
    try {
      this.watcher = watch(securityDir(this.opts.dataDir), () => this.scheduleReload());
      this.watcher.on('error', (err) => this.opts.logger.warn({ err: errorMessage(err) }, 'users file watch failed'));
    } catch (err) {
      this.opts.logger.warn({ err: errorMessage(err) }, 'cannot watch the users file; restart to apply changes');
    }
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.reloadTimer);
    this.clients.clear();
  }

  private scheduleReload(): void {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      this.reloading = this.reloading.then(() =>
        this.reload().catch((err: unknown) =>
          this.opts.logger.error({ err: errorMessage(err) }, `users file not reloaded: ${errorMessage(err)}`),
        ),
      );
    }, 50);
  }

  /** Rereads the users file now; closes connections of identities that were removed, expired or re-keyed. */
  async reload(): Promise<void> {
    const next = new Map((await loadIdentities(this.opts.dataDir)).map((u) => [u.name, u]));
    this.users = next;
    this.revokeStale();
    this.opts.logger.info({ users: next.size }, 'MQTT identities loaded');
  }

  /** Closes connections whose identity no longer stands as it was when they connected. */
  revokeStale(): void {
    const now = this.now();
    for (const [client, policy] of this.clients) {
      const was = policy.identity;
      if (was === ANONYMOUS) continue;
      const cur = this.users.get(was.name);
      if (cur && !isExpired(cur, now) && JSON.stringify(cur) === JSON.stringify(was)) continue;
      this.opts.logger.warn({ user: was.name, client: client.id }, `MQTT identity ${was.name} revoked: disconnecting`);
      this.clients.delete(client);
      client.close();
    }
  }

  /** The identity these credentials prove, or undefined. */
  async authenticate(
    username: string | undefined,
    password: Buffer | undefined,
    certName?: string,
  ): Promise<Identity | undefined> {
    const name = certName ?? username;
    if (name === undefined) return this.opts.allowAnonymous ? ANONYMOUS : undefined;
    const user = this.users.get(name);
    if (!user || isExpired(user, this.now())) return undefined;
    if (certName !== undefined && (username === undefined || username === certName)) return user;
    if (!user.hash || password === undefined) return undefined;
    return (await verifyPassword(password, user.hash)) ? user : undefined;
  }

  /** Installs the hooks on an aedes instance. */
  install(aedes: Aedes): void {
    const log = this.opts.logger;
    aedes.on('clientDisconnect', (client) => this.clients.delete(client));
    aedes.authenticate = (client, username, password, done) => {
      const certName = clientCertificateName(client);
      this.authenticate(username, password, certName).then(
        (identity) => {
          if (!identity) {
            log.warn(
              { client: client.id, user: username ?? certName ?? null },
              'MQTT connection refused: bad credentials',
            );
            const err = new Error('bad user name or password') as AuthenticateError;
            err.returnCode = username === undefined && certName === undefined ? 5 : 4;
            done(err, false);
            return;
          }
          this.clients.set(client, new MqttPolicy(identity, this.opts));
          done(null, true);
        },
        (err: unknown) => {
          log.error({ err: errorMessage(err) }, 'MQTT authentication failed');
          const unavailable: AuthenticateError = Object.assign(new Error('server unavailable'), { returnCode: 3 });
          done(unavailable, false);
        },
      );
    };
    aedes.authorizePublish = (client, packet, done) => {
      const policy = client ? this.clients.get(client) : undefined;
      if (!policy?.mayPublish(packet.topic)) {
        log.warn(
          { client: client?.id, user: policy?.identity.name, topic: packet.topic },
          'MQTT publish refused by the access policy; disconnecting the client',
        );
        done(new Error(`not allowed to publish on ${packet.topic}`));
        return;
      }
      done(null);
    };
    aedes.authorizeSubscribe = (client, sub, done) => {
      done(null, this.clients.has(client) ? sub : null);
    };
    aedes.authorizeForward = (client, packet) => {
      const policy = this.clients.get(client);
      if (!policy) return null;
      return policy.forward(packet.topic) === 'deliver' ? packet : null;
    };
  }
}

/** The subject CN of a verified TLS client certificate, if the client presented one. */
function clientCertificateName(client: Client): string | undefined {
  const socket = client.conn as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  return typeof cn === 'string' && cn.length > 0 ? cn : undefined;
}

/**
 * One connection per endpoint, shared by the sessions of every slave behind it and closed when the
 * last session releases it. A lost connection leaves the pool, so the next acquire opens a new one.
 */
import type { Logger } from 'pino';
import type { Clock } from '@edgetwin/sdk/util';
import { ModbusConnection, endpointKey, type ConnectionOptions, type Endpoint } from './connection.js';

interface Entry {
  connection: ModbusConnection;
  opening: Promise<void>;
  users: number;
}

export interface Lease {
  connection: ModbusConnection;
  release(): Promise<void>;
}

export class ConnectionPool {
  private readonly entries = new Map<string, Entry>();
  /** Entries whose connection finished opening. */
  private readonly openingDone = new WeakSet<Entry>();

  constructor(
    private readonly logger: Logger,
    private readonly clock?: Clock,
  ) {}

  async acquire(
    endpoint: Endpoint,
    opts: Omit<ConnectionOptions, 'logger' | 'clock'>,
    signal: AbortSignal,
  ): Promise<Lease> {
    const key = endpointKey(endpoint);
    let entry = this.entries.get(key);
    if (entry && !entry.connection.isOpen && !this.isOpening(entry)) {
      this.entries.delete(key);
      entry = undefined;
    }
    if (!entry) {
      const connOpts: ConnectionOptions = { ...opts, logger: this.logger.child({ endpoint: key }) };
      if (this.clock) connOpts.clock = this.clock;
      const connection = new ModbusConnection(endpoint, connOpts);
      const created: Entry = { connection, opening: connection.open(signal), users: 0 };
      entry = created;
      this.entries.set(key, created);
      connection.onLost(() => {
        if (this.entries.get(key) === created) this.entries.delete(key);
        void this.closeWhenUnused(created);
      });
      created.opening.then(
        () => this.openingDone.add(created),
        () => {
          if (this.entries.get(key) === created) this.entries.delete(key);
        },
      );
    }
    entry.users++;
    try {
      await entry.opening;
    } catch (err) {
      entry.users--;
      throw err;
    }
    const held = entry;
    let released = false;
    return {
      connection: held.connection,
      release: async () => {
        if (released) return;
        released = true;
        held.users--;
        await this.closeWhenUnused(held);
      },
    };
  }

  private isOpening(entry: Entry): boolean {
    return !this.openingDone.has(entry);
  }

  private async closeWhenUnused(entry: Entry): Promise<void> {
    if (entry.users > 0) return;
    const key = entry.connection.key;
    if (this.entries.get(key) === entry) this.entries.delete(key);
    await entry.connection.close();
  }

  /** Connections currently held (for metrics and tests). */
  get size(): number {
    return this.entries.size;
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.connection.close()));
  }
}

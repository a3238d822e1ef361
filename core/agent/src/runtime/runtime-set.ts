/**
 * The runtimes of one node: the process runtime (always there) and containerd (when reachable).
 * When containerd is not reachable at start in `auto` mode, or goes away later, it is retried in
 * the background with backoff; pods that need it wait with reason RuntimeUnavailable meanwhile.
 */
import { EdgeTwinError, errorMessage } from '@edgetwin/sdk';
import { Backoff } from '@edgetwin/sdk/util';
import type { Logger } from 'pino';
import type { ContainerdRuntime } from './containerd-runtime.js';
import { ProcessRuntime } from './process-runtime.js';
import type { ContainerRuntime, RuntimeName } from './types.js';

export interface RuntimeSetOptions {
  mode: 'containerd' | 'process' | 'auto';
  processRoot: string;
  containerdAddress: string;
  containerdTimeoutMs: number;
  logger: Logger;
}

export class RuntimeSet {
  private readonly process: ProcessRuntime;
  private containerd: ContainerdRuntime | undefined;
  private containerdProblem = '';
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
  private stopped = false;
  private chosen: RuntimeName = 'process';

  constructor(private readonly opts: RuntimeSetOptions) {
    this.process = new ProcessRuntime({ root: opts.processRoot });
  }

  /** Starts the runtimes; in `containerd` mode an unreachable containerd is an ET_UNAVAILABLE error. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.process.start();
    this.chosen = 'process';
    if (this.opts.mode === 'process') return;
    const err = await this.connect();
    if (err && this.opts.mode === 'containerd') {
      throw new EdgeTwinError(
        'ET_UNAVAILABLE',
        `${this.containerdProblem}; start containerd or run with runtime "process"`,
        {
          cause: err,
        },
      );
    }
    this.chosen = err ? 'process' : 'containerd';
    if (err) {
      this.opts.logger.warn(
        { address: this.opts.containerdAddress },
        'containerd not reachable; pods run as host processes unless they ask for containerd (retrying)',
      );
      this.scheduleRetry();
    }
  }

  /** The default runtime for pods without runtimeClassName, decided at start. */
  defaultRuntime(): RuntimeName {
    return this.chosen;
  }

  get(name: RuntimeName): ContainerRuntime | undefined {
    return name === 'process' ? this.process : this.containerd;
  }

  problem(name: RuntimeName): string {
    if (name === 'containerd' && this.opts.mode === 'process') {
      return 'this node runs with runtime "process"; containerd pods cannot run here';
    }
    return this.containerdProblem || `runtime ${name} is not available on this node`;
  }

  /** A CRI call failed with ET_UNAVAILABLE: drop the connection and reconnect in the background. */
  reportUnavailable(err: unknown): void {
    if (!this.containerd || this.stopped) return;
    this.containerdProblem = `containerd at ${this.opts.containerdAddress} went away: ${errorMessage(err)}`;
    const old = this.containerd;
    this.containerd = undefined;
    void old.stop();
    this.opts.logger.warn({ address: this.opts.containerdAddress }, 'lost containerd; reconnecting');
    this.scheduleRetry();
  }

  private async connect(): Promise<unknown> {
    // Loaded on first use: the gRPC stack is about 5 MB of heap a node without containerd never needs.
    const { ContainerdRuntime } = await import('./containerd-runtime.js');
    const rt = new ContainerdRuntime({
      address: this.opts.containerdAddress,
      timeoutMs: this.opts.containerdTimeoutMs,
      logger: this.opts.logger,
    });
    try {
      await rt.start();
      this.containerd = rt;
      this.containerdProblem = '';
      this.backoff.reset();
      return undefined;
    } catch (err) {
      await rt.stop();
      this.containerdProblem = `containerd at ${this.opts.containerdAddress} is not reachable: ${errorMessage(err)}`;
      return err;
    }
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect().then((err) => {
        if (err) this.scheduleRetry();
        else this.opts.logger.info({ address: this.opts.containerdAddress }, 'containerd is back');
      });
    }, this.backoff.next());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.containerd?.stop();
    this.containerd = undefined;
    await this.process.stop();
  }
}

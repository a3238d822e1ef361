/**
 * Watches the devices directory and calls `onChange` (debounced) when a YAML file is added,
 * edited, renamed or deleted. Editors write files in several steps; the debounce folds them.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from 'pino';
import { isResourceFile } from './device-directory.js';

export interface DirectoryWatcherOptions {
  dir: string;
  logger: Logger;
  onChange: () => Promise<void>;
  debounceMs?: number;
}

export class DirectoryWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private pending = false;

  constructor(private readonly opts: DirectoryWatcherOptions) {}

  start(): void {
    this.watcher = watch(this.opts.dir, { persistent: false }, (_event, name) => {
      if (name !== null && !isResourceFile(name.toString())) return;
      this.schedule();
    });
    this.watcher.on('error', (err) => this.opts.logger.error({ err }, 'watching the devices directory failed'));
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fire();
    }, this.opts.debounceMs ?? 150);
  }

  /** Runs onChange; a change that arrives meanwhile runs it once more afterwards. */
  private fire(): void {
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = this.opts
      .onChange()
      .catch((err: unknown) => this.opts.logger.error({ err }, 'reloading the devices directory failed'))
      .finally(() => {
        this.running = undefined;
        if (this.pending) {
          this.pending = false;
          this.fire();
        }
      });
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    await this.running;
  }
}

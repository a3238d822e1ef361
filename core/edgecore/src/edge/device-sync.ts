/**
 * Embedded mode's source of devices: the YAML directory, loaded at start and on every change.
 * Each load replaces the node's device set in the twin service; problems are logged with the
 * file, document and field, and the last load's problems are kept for inspection. Devices are
 * checked against their model and, for protocols whose EdgeTwin mapper package is installed,
 * against that mapper's configData schemas.
 */
import type { Logger } from 'pino';
import type { TwinService } from '@edgetwin/device-twin';
import { loadDeviceDirectory, type DirectoryContents } from '../devices/device-directory.js';
import { DirectoryWatcher } from '../devices/directory-watcher.js';
import { installedMapperConfigs, type ConfigSchemaLookup } from '../devices/mapper-config-schemas.js';
import type { LoadProblem } from '../devices/yaml-documents.js';

export interface DeviceDirectorySyncOptions {
  dir: string;
  nodeName: string;
  twin: TwinService;
  logger: Logger;
  /** Size limit of one devices file (default DEFAULT_MAX_DEVICES_FILE_BYTES, 8 MiB). */
  maxFileBytes?: number | undefined;
  /** Called after every load with the protocols the node's devices use. */
  onProtocols?: (protocols: Set<string>) => void;
  /** configData schemas by protocol; default: those of the installed mapper packages. */
  configSchemas?: ConfigSchemaLookup;
}

export class DeviceDirectorySync {
  private watcher: DirectoryWatcher | undefined;
  private last: DirectoryContents | undefined;
  private readonly log: Logger;
  private readonly configSchemas: ConfigSchemaLookup;

  constructor(private readonly opts: DeviceDirectorySyncOptions) {
    this.log = opts.logger.child({ module: 'devices' });
    this.configSchemas = opts.configSchemas ?? installedMapperConfigs({ warn: (m) => this.log.warn(m) });
  }

  get problems(): readonly LoadProblem[] {
    return this.last?.problems ?? [];
  }

  async start(): Promise<void> {
    await this.reload();
    this.watcher = new DirectoryWatcher({ dir: this.opts.dir, logger: this.log, onChange: () => this.reload() });
    this.watcher.start();
  }

  async stop(): Promise<void> {
    await this.watcher?.stop();
    this.watcher = undefined;
  }

  async reload(): Promise<void> {
    const contents = await loadDeviceDirectory(this.opts.dir, this.opts.nodeName, {
      ...(this.opts.maxFileBytes === undefined ? {} : { maxFileBytes: this.opts.maxFileBytes }),
      ...(this.last ? { running: this.last.sources } : {}),
      configSchemas: this.configSchemas,
    });
    for (const p of contents.problems) {
      this.log.error(
        { code: p.error.code, file: p.file, document: p.document, path: p.error.details.path },
        p.error.message,
      );
    }
    for (const o of contents.otherNodes) {
      this.log.info(
        { device: o.id, nodeName: o.nodeName, file: o.file },
        `device ${o.id} is for node "${o.nodeName}", skipped`,
      );
    }
    const change = this.opts.twin.applyResources({ models: contents.models, devices: contents.devices });
    this.last = contents;
    this.log.info(
      {
        files: contents.files.length,
        models: contents.models.length,
        devices: contents.devices.length,
        problems: contents.problems.length,
        added: change.added,
        removed: change.removed,
        updated: change.updated,
      },
      'devices directory loaded',
    );
    const protocols = new Set<string>();
    for (const d of contents.devices) if (d.protocolName) protocols.add(d.protocolName);
    this.opts.onProtocols?.(protocols);
  }
}

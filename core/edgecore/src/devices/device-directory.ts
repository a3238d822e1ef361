/**
 * The devices directory of embedded mode: every *.yaml / *.yml file in it (not recursive) holds
 * Device and DeviceModel documents. `load()` reads them all and joins devices with their models;
 * problems are collected, never thrown, so one bad file never hides the others. A file over the
 * size limit is not read; a Device defined twice keeps the definition that is running.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EdgeTwinError,
  modelKey,
  resolveDevice,
  resourceId,
  type ConfigDataSchemas,
  type Device,
  type DeviceModel,
  type ResolvedDevice,
} from '@edgetwin/sdk';
import type { ConfigSchemaLookup } from './mapper-config-schemas.js';
import { describeSource, parseResourceFile, type LoadProblem } from './yaml-documents.js';

export interface DirectoryContents {
  models: DeviceModel[];
  /** Devices of this node that passed every check. */
  devices: ResolvedDevice[];
  /** Devices whose spec.nodeName names another node. */
  otherNodes: { id: string; nodeName: string; file: string }[];
  problems: LoadProblem[];
  files: string[];
  /** Which file each device id was taken from: pass it to the next load as `running`. */
  sources: Map<string, string>;
}

/** Default size limit of one devices file: 8 MiB, about 13,000 Devices. */
export const DEFAULT_MAX_DEVICES_FILE_BYTES = 8 * 1024 * 1024;

export interface LoadOptions {
  /** Files larger than this are not read (ET_TOO_LARGE); default DEFAULT_MAX_DEVICES_FILE_BYTES. */
  maxFileBytes?: number;
  /** The file each running device came from: a Device defined twice keeps the running one. */
  running?: ReadonlyMap<string, string>;
  /**
   * The configData schemas of a protocol (`installedMapperConfigs()`): a Device whose configData
   * does not fit is a problem naming the file, the field and ET_SCHEMA. Without it, not checked;
   * configData a document does not hold at all is left to the mapper.
   */
  configSchemas?: ConfigSchemaLookup;
}

interface DeviceEntry {
  device: Device;
  file: string;
  document: number;
}

export const isResourceFile = (name: string): boolean => /\.ya?ml$/i.test(name) && !name.startsWith('.');

export async function loadDeviceDirectory(
  dir: string,
  nodeName: string,
  opts: LoadOptions = {},
): Promise<DirectoryContents> {
  const names = (await readdir(dir)).filter(isResourceFile).sort();
  const maxBytes = opts.maxFileBytes ?? DEFAULT_MAX_DEVICES_FILE_BYTES;
  const out: DirectoryContents = {
    models: [],
    devices: [],
    otherNodes: [],
    problems: [],
    files: names,
    sources: new Map(),
  };
  const models = new Map<string, { model: DeviceModel; where: string }>();
  const devices: DeviceEntry[] = [];

  for (const name of names) {
    const file = join(dir, name);
    let text: string;
    try {
      const size = (await stat(file)).size;
      if (size > maxBytes) {
        out.problems.push({ file, document: undefined, error: tooLarge(file, size, maxBytes) });
        continue;
      }
      text = await readFile(file, 'utf8');
    } catch (err) {
      // Deleted between readdir and readFile: the watcher reloads again shortly.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      out.problems.push({
        file,
        document: undefined,
        error: new EdgeTwinError('ET_CONFIG_INVALID', `${file}: cannot read: ${(err as Error).message}`, {
          cause: err,
        }),
      });
      continue;
    }
    const parsed = parseResourceFile(file, text);
    out.problems.push(...parsed.problems);
    for (const m of parsed.models) {
      const key = modelKey(m.resource.metadata.namespace, m.resource.metadata.name);
      const where = describeSource(m.file, m.document);
      const prev = models.get(key);
      if (prev) {
        out.problems.push(duplicate('DeviceModel', key, where, prev.where, m.file, m.document));
        continue;
      }
      models.set(key, { model: m.resource, where });
    }
    for (const d of parsed.devices) devices.push({ device: d.resource, file: d.file, document: d.document });
  }

  const modelMap = new Map([...models].map(([k, v]) => [k, v.model]));
  out.models = [...modelMap.values()];
  const schemas = await schemasByProtocol(devices, modelMap, opts.configSchemas);
  for (const { device, file, document } of keepRunning(devices, opts.running, out.problems)) {
    const id = resourceId(device);
    const where = describeSource(file, document);
    out.sources.set(id, file);
    const target = device.spec.nodeName;
    if (target && target !== nodeName) {
      out.otherNodes.push({ id, nodeName: target, file });
      continue;
    }
    try {
      const configData = schemas.get(protocolOf(device, modelMap) ?? '');
      out.devices.push(
        resolveDevice(device, modelMap, {
          details: { file, document },
          ...(configData ? { configData, onlyWrittenConfigData: true } : {}),
        }),
      );
    } catch (err) {
      const e = err instanceof EdgeTwinError ? err : new EdgeTwinError('ET_INTERNAL', String(err), { cause: err });
      out.problems.push({
        file,
        document,
        error: new EdgeTwinError(e.code, `${where}: ${e.message}`, {
          cause: e,
          details: { ...e.details, file, document },
        }),
      });
    }
  }
  return out;
}

/**
 * One definition per device id: the first in file order, unless another file holds the one that
 * is running (an added file never takes over a running device). Every other one is a problem
 * naming both places.
 */
function keepRunning(
  devices: readonly DeviceEntry[],
  running: ReadonlyMap<string, string> | undefined,
  problems: LoadProblem[],
): DeviceEntry[] {
  const byId = new Map<string, DeviceEntry[]>();
  for (const d of devices) {
    const id = resourceId(d.device);
    const list = byId.get(id);
    if (list) list.push(d);
    else byId.set(id, [d]);
  }
  const kept: DeviceEntry[] = [];
  for (const [id, list] of byId) {
    const runningFile = running?.get(id);
    const keep = list.find((d) => d.file === runningFile) ?? list[0]!;
    kept.push(keep);
    const keptWhere = describeSource(keep.file, keep.document);
    const why = keep.file === runningFile ? ' (the running one)' : '';
    for (const d of list) {
      if (d === keep) continue;
      problems.push(duplicate('Device', id, describeSource(d.file, d.document), keptWhere + why, d.file, d.document));
    }
  }
  return kept;
}

function tooLarge(file: string, size: number, limit: number): EdgeTwinError {
  return new EdgeTwinError(
    'ET_TOO_LARGE',
    `${file}: ${size} bytes, over the devices-file size limit of ${limit} bytes; ` +
      'split it into several files or raise --max-devices-file-bytes; its devices are not loaded',
    { details: { file, size, limit } },
  );
}

function duplicate(
  kind: string,
  id: string,
  where: string,
  first: string,
  file: string,
  document: number,
): LoadProblem {
  return {
    file,
    document,
    error: new EdgeTwinError(
      'ET_CONFIG_INVALID',
      `${where}: ${kind} ${id} is already defined in ${first}; this one is ignored (remove one of the two)`,
      {
        details: { file, document, path: '/metadata/name', keptFrom: first },
      },
    ),
  };
}

const protocolOf = (device: Device, models: ReadonlyMap<string, DeviceModel>): string | undefined =>
  device.spec.protocol?.protocolName ??
  models.get(modelKey(device.metadata.namespace, device.spec.deviceModelRef.name))?.spec.protocol;

/** The configData schemas of the protocols these devices use, for those that have them. */
async function schemasByProtocol(
  devices: readonly DeviceEntry[],
  models: ReadonlyMap<string, DeviceModel>,
  lookup: ConfigSchemaLookup | undefined,
): Promise<Map<string, ConfigDataSchemas>> {
  const out = new Map<string, ConfigDataSchemas>();
  if (!lookup) return out;
  const protocols = new Set(devices.map((d) => protocolOf(d.device, models)));
  for (const protocol of protocols) {
    if (!protocol) continue;
    const schemas = await lookup(protocol);
    if (schemas) out.set(protocol, schemas);
  }
  return out;
}

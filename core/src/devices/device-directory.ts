/**
 * The devices directory of embedded mode: every *.yaml / *.yml file in it (not recursive) holds
 * Device and DeviceModel documents. `load()` reads them all and joins devices with their models;
 * problems are collected, never thrown, so one bad file never hides the others.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EdgeTwinError,
  modelKey,
  resolveDevice,
  resourceId,
  type DeviceModel,
  type ResolvedDevice,
} from '@edgetwin/sdk';
import { describeSource, parseResourceFile, type LoadProblem } from './yaml-documents.js';

export interface DirectoryContents {
  models: DeviceModel[];
  /** Devices of this node that passed every check. */
  devices: ResolvedDevice[];
  /** Devices whose spec.nodeName names another node. */
  otherNodes: { id: string; nodeName: string; file: string }[];
  problems: LoadProblem[];
  files: string[];
}

export const isResourceFile = (name: string): boolean => /\.ya?ml$/i.test(name) && !name.startsWith('.');

export async function loadDeviceDirectory(dir: string, nodeName: string): Promise<DirectoryContents> {
  const names = (await readdir(dir)).filter(isResourceFile).sort();
  const out: DirectoryContents = { models: [], devices: [], otherNodes: [], problems: [], files: names };
  const models = new Map<string, { model: DeviceModel; where: string }>();
  const devices: { device: import('@edgetwin/sdk').Device; file: string; document: number }[] = [];

  for (const name of names) {
    const file = join(dir, name);
    let text: string;
    try {
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
  const seen = new Map<string, string>();
  for (const { device, file, document } of devices) {
    const id = resourceId(device);
    const where = describeSource(file, document);
    const prev = seen.get(id);
    if (prev) {
      out.problems.push(duplicate('Device', id, where, prev, file, document));
      continue;
    }
    seen.set(id, where);
    const target = device.spec.nodeName;
    if (target && target !== nodeName) {
      out.otherNodes.push({ id, nodeName: target, file });
      continue;
    }
    try {
      out.devices.push(resolveDevice(device, modelMap, { file, document }));
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
      `${where}: ${kind} ${id} is already defined in ${first}; this one is ignored`,
      {
        details: { file, document, path: '/metadata/name' },
      },
    ),
  };
}

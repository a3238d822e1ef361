/**
 * Which program serves which protocol. core never imports a protocol library: it finds the mapper
 * package's `bin` and runs it as a child process.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { mapperNodeFlags } from './mapper-node-flags.js';

export interface MapperCommand {
  command: string;
  args: string[];
  /** Flags for the node runtime, given before `args` (only when `command` is node). */
  nodeFlags?: string[];
}

/** protocolName (as in Device.spec.protocol.protocolName) -> npm package of its mapper. */
export const MAPPER_PACKAGES: Readonly<Record<string, string>> = {
  modbus: '@edgetwin/mapper-modbus',
  opcua: '@edgetwin/mapper-opcua',
  bluetooth: '@edgetwin/mapper-ble',
  ble: '@edgetwin/mapper-ble',
  zigbee: '@edgetwin/mapper-zigbee',
};

const require = createRequire(import.meta.url);

/** The node command that runs the mapper package's bin, or undefined when it is not installed. */
export function findMapperCommand(protocol: string): MapperCommand | undefined {
  const pkg = MAPPER_PACKAGES[protocol];
  if (!pkg) return undefined;
  const manifestPath = findManifest(pkg);
  if (!manifestPath) return undefined;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin?: string | Record<string, string> };
  // A package may ship several commands (a mapper and a simulator): take its edgetwin-mapper-* one.
  const bins = Object.entries(typeof manifest.bin === 'string' ? { [pkg]: manifest.bin } : (manifest.bin ?? {}));
  const bin = (bins.find(([name]) => name.startsWith('edgetwin-mapper-')) ?? bins[0])?.[1];
  if (!bin) return undefined;
  return { command: process.execPath, args: [resolve(dirname(manifestPath), bin)], nodeFlags: mapperNodeFlags() };
}

/** The package.json of an installed package, found from its main entry (exports may hide package.json). */
function findManifest(pkg: string): string | undefined {
  let dir: string;
  try {
    dir = dirname(require.resolve(pkg));
  } catch {
    return undefined;
  }
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const { name } = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string };
      if (name === pkg) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

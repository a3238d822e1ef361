/**
 * The configData schemas of the installed EdgeTwin mappers, so the devices directory checks a
 * Device's protocol and visitor configData when it loads (errors with file, field and code) instead
 * of the mapper finding out later. Each mapper package exports them from its `./config` entry,
 * which depends on the sdk and TypeBox only: edgecore imports no protocol library. The entry is
 * imported on first use of its protocol. A protocol with no EdgeTwin mapper package (a KubeEdge
 * mapper-framework mapper over DMI), or whose package is not installed, has no schemas here and its
 * configData is left to its mapper.
 */
import type { ConfigDataSchemas } from '@edgetwin/sdk';
import { MAPPER_PACKAGES } from '../supervisor/mapper-commands.js';

/** The schemas of a protocol, or undefined when none are known. Never rejects. */
export type ConfigSchemaLookup = (protocol: string) => Promise<ConfigDataSchemas | undefined>;

export interface MapperConfigOptions {
  /** protocolName -> mapper package; default MAPPER_PACKAGES. */
  packages?: Readonly<Record<string, string>>;
  /** Told when an installed package's `./config` entry fails to load (its devices then load unchecked). */
  warn?: (message: string) => void;
  /** Imports a module; default `import()`. */
  importer?: (specifier: string) => Promise<unknown>;
}

export function installedMapperConfigs(opts: MapperConfigOptions = {}): ConfigSchemaLookup {
  const packages = opts.packages ?? MAPPER_PACKAGES;
  const importer = opts.importer ?? ((specifier: string) => import(specifier) as Promise<unknown>);
  const cache = new Map<string, Promise<ConfigDataSchemas | undefined>>();
  return (protocol) => {
    const pkg = Object.hasOwn(packages, protocol) ? packages[protocol] : undefined;
    if (!pkg) return Promise.resolve(undefined);
    let schemas = cache.get(pkg);
    if (!schemas) {
      schemas = loadSchemas(pkg, importer, opts.warn);
      cache.set(pkg, schemas);
    }
    return schemas;
  };
}

async function loadSchemas(
  pkg: string,
  importer: (specifier: string) => Promise<unknown>,
  warn: ((message: string) => void) | undefined,
): Promise<ConfigDataSchemas | undefined> {
  const entry = `${pkg}/config`;
  let mod: unknown;
  try {
    mod = await importer(entry);
  } catch (err) {
    if (notInstalled(err, pkg)) return undefined;
    warn?.(`${entry} did not load, so configData of its devices is checked by the mapper only: ${String(err)}`);
    return undefined;
  }
  const schemas = (mod as { configDataSchemas?: ConfigDataSchemas } | undefined)?.configDataSchemas;
  if (!schemas?.protocol || !schemas.visitor) {
    warn?.(
      `${entry} exports no configDataSchemas { protocol, visitor }; configData of its devices is checked by the mapper only`,
    );
    return undefined;
  }
  return schemas;
}

/** The package itself is absent (or too old to have a `./config` entry): not an error. */
function notInstalled(err: unknown, pkg: string): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  const message = err instanceof Error ? err.message : '';
  if (code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return message.includes(pkg);
  // "Cannot find package '@edgetwin/mapper-x/config'": the package, not one of its own imports
  return code === 'ERR_MODULE_NOT_FOUND' && (message.includes(`'${pkg}'`) || message.includes(`'${pkg}/`));
}

/**
 * Reads Device and DeviceModel resources from YAML text: multi-document files allowed, every
 * document validated against the sdk schemas. A bad document becomes a LoadProblem naming the
 * file, the document and the field; the other documents still load.
 */
import { createRequire } from 'node:module';
import jsYaml from 'js-yaml';
import type * as Yaml from 'yaml';
import type { LineCounter, YAMLError } from 'yaml';
import {
  DeviceModelSchema,
  DeviceSchema,
  EdgeTwinError,
  parseWithSchema,
  pruneNulls,
  type Device,
  type DeviceModel,
} from '@edgetwin/sdk';

export interface LoadProblem {
  file: string;
  /** 0-based index of the document in the file; undefined when the whole file failed. */
  document: number | undefined;
  error: EdgeTwinError;
}

export interface LoadedResource<T> {
  resource: T;
  file: string;
  document: number;
}

export interface ParsedFile {
  devices: LoadedResource<Device>[];
  models: LoadedResource<DeviceModel>[];
  problems: LoadProblem[];
}

/** `file`, `file (document 2)`: how errors name where a resource came from. */
export function describeSource(file: string, document: number | undefined): string {
  return document === undefined ? file : `${file} (document ${document + 1})`;
}

/** `0b101` as a value (see parseResourceFile). */
const BINARY_INT = /(^|[\s:,[{-])[-+]?0b[01_]/m;

/**
 * Two parsers, one meaning. js-yaml reads a whole file about six times faster than yaml (1,000
 * Devices: 0.64 s against 4.0 s, measured on the same loaded machine; start-up is dominated by
 * it), so every file is read with it first, with the YAML 1.2 core schema (no timestamps, no `<<`
 * merges, the same scalars as yaml's default). Only when it finds any error in the file is the file
 * read again with yaml, which reports each bad document with its line and column and still loads
 * the good ones. `yaml-documents.test.ts` checks that both give the same values for every YAML file
 * the project ships.
 */
export function parseResourceFile(file: string, text: string): ParsedFile {
  // The one scalar the two read differently: js-yaml's core schema takes `0b101` for a number,
  // YAML 1.2 (and yaml) for a string. A file that may hold one is read exactly.
  if (BINARY_INT.test(text)) return parseResourceFileExactly(file, text);
  let values: unknown[];
  try {
    values = jsYaml.loadAll(text, undefined, { schema: jsYaml.CORE_SCHEMA, json: false });
  } catch {
    return parseResourceFileExactly(file, text);
  }
  const out: ParsedFile = { devices: [], models: [], problems: [] };
  values.forEach((value, i) => addDocument(out, file, i, { value }));
  return out;
}

/**
 * The exact reader (yaml), for files js-yaml refused. Documents are composed one at a time and
 * dropped once converted: yaml's `parseAllDocuments` keeps every document's syntax tree until the
 * last one is done, about 60 times the file's size in heap (38 MB for a 620 kB file of 1,000 Devices).
 */
export function parseResourceFileExactly(file: string, text: string): ParsedFile {
  const { Composer, LineCounter, Parser } = exactReader();
  const out: ParsedFile = { devices: [], models: [], problems: [] };
  const lines = new LineCounter();
  let i = 0;
  for (const doc of new Composer().compose(new Parser(lines.addNewLine).parse(text))) {
    const yamlError = doc.errors[0];
    addDocument(out, file, i++, yamlError ? { error: yamlError, lines } : { value: doc.toJS() as unknown });
  }
  return out;
}

let yamlModule: typeof Yaml | undefined;

/**
 * yaml, loaded on first use: most starts never need it (its 230 modules took about 0.1 s of
 * edgecore's start-up). Its CommonJS build is what Node's `import` loads too.
 */
function exactReader(): typeof Yaml {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return yamlModule;
}

/** One document: a YAML error (with the lines to place it), or its value. */
function addDocument(
  out: ParsedFile,
  file: string,
  i: number,
  doc: { error: YAMLError; lines: LineCounter } | { value: unknown },
): void {
  const where = describeSource(file, i);
  if ('error' in doc) {
    const yamlError = doc.error;
    const at = yamlError.pos[0] >= 0 ? doc.lines.linePos(yamlError.pos[0]) : undefined;
    const position = at ? ` at line ${at.line}, column ${at.col}` : '';
    out.problems.push({
      file,
      document: i,
      error: new EdgeTwinError(
        'ET_YAML_PARSE',
        `${where}: YAML syntax error: ${yamlError.message.split('\n')[0]}${position}`,
        { cause: yamlError, details: { file, document: i, line: at?.line } },
      ),
    });
    return;
  }
  const value = doc.value;
  if (value === null || value === undefined) return; // an empty document (e.g. a trailing ---)
  pruneNulls(value); // as the Kubernetes API server stores it (kubectl apply)
  const kind = typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined;
  try {
    if (kind === 'Device') {
      out.devices.push({
        resource: parseWithSchema(DeviceSchema, value, where, { file, document: i }, { owned: true }),
        file,
        document: i,
      });
    } else if (kind === 'DeviceModel') {
      out.models.push({
        resource: parseWithSchema(DeviceModelSchema, value, where, { file, document: i }, { owned: true }),
        file,
        document: i,
      });
    } else {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `${where}: field /kind: expected "Device" or "DeviceModel", got ${JSON.stringify(kind ?? null)}`,
        { details: { file, document: i, path: '/kind' } },
      );
    }
  } catch (err) {
    out.problems.push({ file, document: i, error: asEdgeTwinError(err, file, i) });
  }
}

function asEdgeTwinError(err: unknown, file: string, document: number): EdgeTwinError {
  if (err instanceof EdgeTwinError) return err;
  return new EdgeTwinError('ET_CONFIG_INVALID', `${describeSource(file, document)}: ${String(err)}`, {
    cause: err,
    details: { file, document },
  });
}

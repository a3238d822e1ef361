import { parseArgs, type ParseArgsConfig } from 'node:util';
import { errorMessage } from '@edgetwin/sdk';

/** Where CLI commands write, injectable so tests read what a user would see. */
export interface CliIo {
  stdout: { write(chunk: string | Buffer): unknown };
  stderr: { write(chunk: string | Buffer): unknown };
  /** Ends a follow (`-f`) command; Ctrl-C when run from the CLI. */
  signal?: AbortSignal;
}

export function defaultIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr };
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>>;

/**
 * The common front of a command that takes exactly one argument: parses `argv`, answers `--help`
 * (`options` must declare `help`), and checks the argument. Returns the parsed values and the
 * argument, or the exit code when the command is done (0 after help, 2 after a usage error).
 */
export function parseSingleArgCommand<O extends Options>(
  argv: string[],
  options: O,
  usage: string,
  io: CliIo,
): { values: Parsed<O>['values']; arg: string } | number {
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true });
  } catch (err) {
    io.stderr.write(`${errorMessage(err)}\n${usage}\n`);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help) {
    io.stdout.write(`${usage}\n`);
    return 0;
  }
  const arg = parsed.positionals[0];
  if (!arg || parsed.positionals.length > 1) {
    io.stderr.write(`${usage}\n`);
    return 2;
  }
  return { values: parsed.values, arg };
}

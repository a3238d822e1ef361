/**
 * A usage error of the `edgetwin` command itself: printed without a stack trace, exit code 2.
 * main.ts recognizes usage errors by their name, `CliError`, so the program packages' own
 * `CliError`s (e.g. `@edgetwin/edgecore/cli`) are printed the same way without being imported.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
}

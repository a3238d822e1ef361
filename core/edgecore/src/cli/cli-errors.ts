/** A usage error: printed without a stack trace, exit code 2. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

export function parsePort(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CliError(`${flag} ${value}: expected a port number 0-65535`);
  return n;
}

/** A number of hours (0 or more), as milliseconds. */
export function parseHours(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`${flag} ${value}: expected a number of hours (0 or more)`);
  return Math.round(n * 3_600_000);
}

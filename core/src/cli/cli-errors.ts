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

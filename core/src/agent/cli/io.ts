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

/** A pino logger that keeps its records in memory, so tests can assert on what an operator reads. */
import { pino, type Level, type Logger } from 'pino';

export interface LogRecord {
  level: number;
  msg: string;
  time: number;
  [key: string]: unknown;
}

export interface CapturedLogs {
  logger: Logger;
  records: LogRecord[];
  /** Records whose message matches every pattern. */
  find(...patterns: (string | RegExp)[]): LogRecord[];
}

export function captureLogs(level: Level = 'debug'): CapturedLogs {
  const records: LogRecord[] = [];
  const stream = {
    write(line: string) {
      records.push(JSON.parse(line) as LogRecord);
    },
  };
  const logger = pino({ level }, stream);
  return {
    logger,
    records,
    find: (...patterns) =>
      records.filter((r) => patterns.every((p) => (typeof p === 'string' ? r.msg.includes(p) : p.test(r.msg)))),
  };
}

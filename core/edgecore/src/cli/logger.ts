import { pino, type Logger } from 'pino';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** The one root logger of a daemon; modules take child loggers. Secrets are redacted. */
export function createLogger(name: string, level: string): Logger {
  if (!LEVELS.includes(level)) throw new Error(`--log-level ${level}: expected one of ${LEVELS.join(', ')}`);
  return pino({
    name,
    level,
    redact: { paths: ['*.password', '*.token', '*.networkKey', 'password', 'token'], censor: '[redacted]' },
  });
}

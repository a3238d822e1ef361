/**
 * Routes zigbee-herdsman's (process-wide) logger into pino, with network keys redacted. Herdsman's
 * chatty debug output goes to debug; its info lines too, except the few an operator needs.
 */
import type { Logger } from 'pino';
import { setLogger } from 'zigbee-herdsman';

const secrets = new Set<string>();
let target: Logger | undefined;

function redact(msg: string): string {
  let out = msg;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('[REDACTED]');
  return out;
}

function text(m: string | (() => string)): string {
  return redact(typeof m === 'function' ? m() : m);
}

/** Installs the bridge (idempotent) and adds secrets to redact. */
export function bridgeHerdsmanLogs(logger: Logger, redactions: readonly string[] = []): void {
  for (const r of redactions) secrets.add(r);
  if (target) return;
  target = logger;
  setLogger({
    debug: (m, ns) => {
      if (target?.isLevelEnabled('debug')) target.debug({ ns }, text(m));
    },
    info: (m, ns) => target?.debug({ ns }, text(m)),
    warning: (m, ns) => target?.warn({ ns }, text(m)),
    error: (m, ns) => target?.error({ ns }, text(m)),
  });
}

/** How EdgeTwinError codes travel in `$hw` results: HTTP-like status codes. */
import { VALUE_LIMITS, errorMessage, isEdgeTwinError } from '@edgetwin/sdk';

/** Longest `reason` a result carries: an error never echoes a whole bad payload. */
export const MAX_REASON_LENGTH = 512;

export function hwStatus(err: unknown): number {
  if (!isEdgeTwinError(err)) return 500;
  switch (err.code) {
    case 'ET_NOT_FOUND':
      return 404;
    case 'ET_PRECONDITION':
      return 409;
    case 'ET_TOO_LARGE':
      return 413;
    case 'ET_UNAVAILABLE':
    case 'ET_INTERNAL':
    case 'ET_TIMEOUT':
      return 500;
    default:
      return 400; // ET_SCHEMA, ET_BAD_VALUE, ET_READ_ONLY, ET_UNKNOWN_PROPERTY, ...
  }
}

export function hwReason(err: unknown): string {
  const msg = errorMessage(err);
  return msg.length > MAX_REASON_LENGTH ? `${msg.slice(0, MAX_REASON_LENGTH)}… (${msg.length} characters)` : msg;
}

/** The event_id of a payload that failed validation, when one can still be read. */
export function eventIdOf(payload: Buffer, maxBytes: number): string | undefined {
  if (payload.length > maxBytes) return undefined; // not parsed at all: over the size limit
  try {
    const v = JSON.parse(payload.toString('utf8')) as unknown;
    if (v && typeof v === 'object' && 'event_id' in v && typeof v.event_id === 'string')
      return v.event_id.length <= VALUE_LIMITS.maxStringLength ? v.event_id : undefined;
  } catch {
    // not JSON: no event id
  }
  return undefined;
}

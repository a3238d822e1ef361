/**
 * Every error EdgeTwin raises on purpose carries a stable `code` (for programs), a message that
 * says what to do (for people) and, when it wraps another failure, a `cause`.
 */
export type ErrorCode =
  | 'ET_CONFIG_INVALID' // a file or flag is wrong; `details` names the file and the path
  | 'ET_YAML_PARSE' // a YAML document could not be parsed
  | 'ET_SCHEMA' // a value does not match its schema
  | 'ET_UNKNOWN_MODEL' // a Device names a DeviceModel that does not exist
  | 'ET_UNKNOWN_PROPERTY' // a property is not in the device's model
  | 'ET_NOT_FOUND' // a device or model does not exist
  | 'ET_BAD_VALUE' // a twin value does not fit the property's type or range
  | 'ET_READ_ONLY' // a desired value for a ReadOnly property
  | 'ET_PRECONDITION' // If-Match / version mismatch
  | 'ET_TIMEOUT' // an operation did not finish in time
  | 'ET_ABORTED' // an operation was cancelled
  | 'ET_PROTOCOL' // a field device answered with an error (details carry the protocol status)
  | 'ET_UNAVAILABLE' // a peer (broker, device, cloud) cannot be reached right now
  | 'ET_TOO_LARGE' // a value, payload or file is over its size limit (`details.limit`)
  | 'ET_TOO_DEEP' // a JSON value nests deeper than the limit (`details.limit`)
  | 'ET_DATA_VERSION' // a data file was written by a newer release (its schema version is unknown here)
  | 'ET_STATUS_UNSUPPORTED' // Kubernetes offers no place for device status (no status subresource, no DeviceStatus CRD)
  | 'ET_WRITE_FAILED' // the device refused a desired value (details: property, deviceCode, reason)
  | 'ET_NOT_CONVERGED' // a written value did not read back as written, after the bounded retries
  | 'ET_UNAUTHORIZED' // no credentials, or unknown, revoked or expired ones
  | 'ET_FORBIDDEN' // the credentials do not allow this (or the request is addressed to a foreign host)
  | 'ET_INTERNAL';

export interface ErrorDetails {
  /** File the problem comes from, when it comes from a file. */
  file?: string;
  /** Index of the YAML document inside a multi-document file (0-based). */
  document?: number;
  /** JSON-pointer-like path of the offending field, e.g. `/spec/properties/0/type`. */
  path?: string;
  /** Free-form extra data: protocol status codes, expected values, ... */
  [key: string]: unknown;
}

export class EdgeTwinError extends Error {
  override readonly name = 'EdgeTwinError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isEdgeTwinError(err: unknown, code?: ErrorCode): err is EdgeTwinError {
  return err instanceof EdgeTwinError && (code === undefined || err.code === code);
}

/** A short human string for any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

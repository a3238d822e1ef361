/**
 * Who may do what on edgecore's DMI socket. edgecore makes a random token (256 bits) for each
 * mapper process it starts (`issue`), hands it over in a 0600 file, and binds it to that mapper's
 * protocol. A call with `authorization: Bearer <token>` is that mapper: it may register and report
 * only for its protocol's devices. A call with an unknown or malformed token is refused
 * (UNAUTHENTICATED). A call without one (a KubeEdge mapper-framework mapper knows no token) is
 * anonymous: by default (`unmanaged`) it may serve only protocols edgecore runs no mapper of its own
 * for; with `deny` it is refused (UNAUTHENTICATED).
 * For checking, a token's SHA-256 digest is the key; the clear token is kept only in memory, because
 * edgecore sends it on its own calls to that mapper's socket (MapperLink).
 */
import type { IncomingHttpHeaders } from 'node:http2';
import { GrpcError, Status, bearerToken, dmiTokenDigest, newDmiToken } from '@edgetwin/sdk/dmi';
import type { DmiAnonymous } from './dmi-anonymous.js';

export type DmiCaller = { kind: 'mapper'; protocol: string } | { kind: 'anonymous' };

export interface DmiAccessOptions {
  /** Default `unmanaged`. */
  anonymous?: DmiAnonymous;
  /** True for a protocol whose mapper edgecore runs itself (it holds a token). */
  managed: (protocol: string) => boolean;
}

export class DmiAccess {
  /** protocol -> the token of its current mapper process. */
  private readonly tokens = new Map<string, string>();
  /** SHA-256 (hex) of a token -> its protocol. */
  private readonly digests = new Map<string, string>();
  readonly anonymous: DmiAnonymous;

  constructor(private readonly opts: DmiAccessOptions) {
    this.anonymous = opts.anonymous ?? 'unmanaged';
  }

  /** A new token for the mapper of `protocol` about to start; the previous one stops working. */
  issue(protocol: string): string {
    this.revoke(protocol);
    const token = newDmiToken();
    this.tokens.set(protocol, token);
    this.digests.set(dmiTokenDigest(token), protocol);
    return token;
  }

  revoke(protocol: string): void {
    const old = this.tokens.get(protocol);
    if (old !== undefined) this.digests.delete(dmiTokenDigest(old));
    this.tokens.delete(protocol);
  }

  /** The token edgecore sends on its calls to the mapper of `protocol` (undefined: none issued). */
  tokenFor(protocol: string): string | undefined {
    return this.tokens.get(protocol);
  }

  managed(protocol: string): boolean {
    return this.opts.managed(protocol);
  }

  /** Who calls, from the call's metadata; throws UNAUTHENTICATED for a bad token or a refused anonymous call. */
  authenticate(metadata: IncomingHttpHeaders): DmiCaller {
    const token = bearerToken(metadata);
    if (token === undefined) {
      if (this.anonymous === 'deny')
        throw new GrpcError(
          Status.UNAUTHENTICATED,
          'this edgecore refuses DMI calls without a token (--dmi-anonymous deny); only the mappers it starts may call',
        );
      return { kind: 'anonymous' };
    }
    // The digest of a random token is the lookup key: its timing reveals nothing about a valid token.
    const protocol = token === '' ? undefined : this.digests.get(dmiTokenDigest(token));
    if (protocol === undefined)
      throw new GrpcError(
        Status.UNAUTHENTICATED,
        token === ''
          ? 'malformed authorization metadata: expected "Bearer <token>"'
          : 'unknown DMI token (it belongs to no mapper edgecore is running)',
      );
    return { kind: 'mapper', protocol };
  }

  /**
   * Refuses (PERMISSION_DENIED) a caller touching `protocol` that is not its own: a mapper of another
   * protocol, or an anonymous caller when edgecore runs that protocol's mapper itself.
   */
  check(caller: DmiCaller, protocol: string, what: string): void {
    if (caller.kind === 'mapper') {
      if (caller.protocol === protocol) return;
      throw new GrpcError(
        Status.PERMISSION_DENIED,
        `the ${caller.protocol} mapper may not ${what}: it is of protocol "${protocol}"`,
      );
    }
    if (!this.opts.managed(protocol)) return;
    throw new GrpcError(
      Status.PERMISSION_DENIED,
      `a call without a DMI token may not ${what}: edgecore runs the "${protocol}" mapper itself (to serve "${protocol}" with another mapper, start edgecore with --external-mapper ${protocol})`,
    );
  }
}

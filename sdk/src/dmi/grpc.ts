/**
 * The DMI v1beta1 services from the proto file, through @grpc/grpc-js and @grpc/proto-loader: the
 * test and peer path. edgecore and the mapper runtime use the sdk's own transport (h2-client.ts,
 * h2-server.ts); the testing kit (`DmiSide`) and the tests use these, an independent
 * implementation, as the other end. They are loaded on the first `loadDmi()` (synchronously, both
 * are CommonJS), not at import, so a process that never calls it never loads them.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as Grpc from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';

/** Absolute path of the DMI v1beta1 proto file. */
export const DMI_PROTO = fileURLToPath(new URL('../../proto/dmi-v1beta1.proto', import.meta.url));

export interface DmiRuntime {
  grpc: typeof Grpc;
  /** DeviceManagerService (served by edgecore). */
  Manager: Grpc.ServiceClientConstructor;
  /** DeviceMapperService (served by each mapper). */
  Mapper: Grpc.ServiceClientConstructor;
}

let loaded: DmiRuntime | undefined;

export function loadDmi(): DmiRuntime {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const grpc = require('@grpc/grpc-js') as typeof Grpc;
  const protoLoader = require('@grpc/proto-loader') as typeof ProtoLoader;
  const definition = protoLoader.loadSync(DMI_PROTO, { keepCase: true, longs: Number, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    v1beta1: {
      DeviceManagerService: Grpc.ServiceClientConstructor;
      DeviceMapperService: Grpc.ServiceClientConstructor;
    };
  };
  loaded = { grpc, Manager: pkg.v1beta1.DeviceManagerService, Mapper: pkg.v1beta1.DeviceMapperService };
  return loaded;
}

/**
 * Calls a unary method of a grpc client as a promise, with a deadline; with a `token`, the call
 * carries gRPC metadata `authorization: Bearer <token>` (DMI's per-mapper token).
 */
export function unary<Res>(
  client: Grpc.Client,
  method: string,
  req: unknown,
  timeoutMs = 10_000,
  token?: string,
): Promise<Res> {
  const metadata = new (loadDmi().grpc.Metadata)();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, unknown>)[method] as (
      req: unknown,
      metadata: Grpc.Metadata,
      opts: Grpc.CallOptions,
      cb: (err: Grpc.ServiceError | null, res: Res) => void,
    ) => void;
    fn.call(client, req, metadata, { deadline: Date.now() + timeoutMs }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

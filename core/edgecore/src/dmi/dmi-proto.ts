/** The DMI v1beta1 services, loaded once from the sdk's proto file (@edgetwin/sdk/dmi). */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { DMI_PROTO } from '@edgetwin/sdk/dmi';

export interface DmiServices {
  manager: grpc.ServiceDefinition;
  Mapper: grpc.ServiceClientConstructor;
}

let loaded: DmiServices | undefined;

export function dmiServices(): DmiServices {
  if (loaded) return loaded;
  const definition = protoLoader.loadSync(DMI_PROTO, { keepCase: true, longs: Number, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    v1beta1: {
      DeviceManagerService: grpc.ServiceClientConstructor;
      DeviceMapperService: grpc.ServiceClientConstructor;
    };
  };
  loaded = { manager: pkg.v1beta1.DeviceManagerService.service, Mapper: pkg.v1beta1.DeviceMapperService };
  return loaded;
}

/** Calls a unary method of a grpc client as a promise, with a deadline. */
export function unary<Res>(client: grpc.Client, method: string, req: unknown, timeoutMs = 10_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, grpc.requestCallback<Res> | undefined>)[method] as unknown as (
      req: unknown,
      opts: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, res: Res) => void,
    ) => void;
    fn.call(client, req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

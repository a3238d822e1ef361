/**
 * A small typed CRI client (k8s.io/cri-api runtime.v1) over gRPC on a unix socket, built from the
 * subset in core/agent/proto/cri-runtime-v1-subset.proto. Every call has a deadline; failures become
 * EdgeTwinErrors (ET_UNAVAILABLE when the socket is gone, ET_NOT_FOUND for NOT_FOUND, ET_TIMEOUT).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { EdgeTwinError } from '@edgetwin/sdk';

const PROTO = fileURLToPath(new URL('../../proto/cri-runtime-v1-subset.proto', import.meta.url));

type Unary = (
  req: object,
  meta: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: unknown) => void,
) => void;
type ServiceClient = grpc.Client & Record<string, Unary>;
type ServiceCtor = new (address: string, creds: grpc.ChannelCredentials, options?: object) => ServiceClient;

export interface CriContainerStatus {
  id: string;
  state: 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
  createdAt: string;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  reason: string;
  message: string;
  logPath: string;
}

export interface CriSandboxStatus {
  id: string;
  state: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
}

let definition: protoLoader.PackageDefinition | undefined;

function services(): { runtime: ServiceCtor; image: ServiceCtor } {
  definition ??= protoLoader.loadSync(PROTO, {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { runtime: { v1: Record<string, ServiceCtor> } };
  const runtime = pkg.runtime.v1.RuntimeService;
  const image = pkg.runtime.v1.ImageService;
  if (!runtime || !image) throw new EdgeTwinError('ET_INTERNAL', `CRI services missing from ${PROTO}`);
  return { runtime, image };
}

/** CRI nanosecond timestamps (int64 as string) to ms; 0 stays undefined. */
export function nsToMs(ns: string | undefined): number | undefined {
  if (!ns || ns === '0') return undefined;
  return Number(BigInt(ns) / 1_000_000n);
}

export class CriClient {
  private readonly runtime: ServiceClient;
  private readonly image: ServiceClient;

  constructor(
    readonly address: string,
    private readonly timeoutMs: number,
  ) {
    const { runtime, image } = services();
    const target = address.startsWith('unix:') ? address : `unix://${address}`;
    const opts = { 'grpc.max_receive_message_length': 32 * 1024 * 1024 };
    this.runtime = new runtime(target, grpc.credentials.createInsecure(), opts);
    this.image = new image(target, grpc.credentials.createInsecure(), opts);
  }

  close(): void {
    this.runtime.close();
    this.image.close();
  }

  call<T>(service: 'runtime' | 'image', method: string, req: object, timeoutMs = this.timeoutMs): Promise<T> {
    const client = service === 'runtime' ? this.runtime : this.image;
    const fn = client[method];
    if (!fn) return Promise.reject(new EdgeTwinError('ET_INTERNAL', `CRI method ${method} is not in the proto subset`));
    return new Promise<T>((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(toError(method, this.address, err));
        else resolve(res as T);
      });
    });
  }

  version(): Promise<{ runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }> {
    return this.call('runtime', 'Version', { version: 'v1' });
  }

  async containerStatus(id: string): Promise<CriContainerStatus> {
    const res = await this.call<{ status: CriContainerStatus }>('runtime', 'ContainerStatus', { containerId: id });
    return res.status;
  }

  async sandboxStatus(id: string): Promise<CriSandboxStatus> {
    const res = await this.call<{ status: CriSandboxStatus }>('runtime', 'PodSandboxStatus', { podSandboxId: id });
    return res.status;
  }

  async imagePresent(image: string): Promise<boolean> {
    const res = await this.call<{ image: unknown }>('image', 'ImageStatus', { image: { image } });
    return res.image !== null && res.image !== undefined;
  }
}

function toError(method: string, address: string, err: grpc.ServiceError): EdgeTwinError {
  const what = `CRI ${method} on ${address}: ${err.details || err.message}`;
  switch (err.code) {
    case grpc.status.NOT_FOUND:
      return new EdgeTwinError('ET_NOT_FOUND', what, { cause: err, details: { grpcCode: err.code } });
    case grpc.status.DEADLINE_EXCEEDED:
      return new EdgeTwinError('ET_TIMEOUT', what, { cause: err, details: { grpcCode: err.code } });
    case grpc.status.UNAVAILABLE:
      return new EdgeTwinError('ET_UNAVAILABLE', `${what}; is containerd running?`, {
        cause: err,
        details: { grpcCode: err.code },
      });
    default:
      return new EdgeTwinError('ET_PROTOCOL', what, { cause: err, details: { grpcCode: err.code } });
  }
}

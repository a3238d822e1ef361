/**
 * `@edgetwin/sdk/dmi`: KubeEdge's DMI v1beta1, the gRPC contract between edgecore
 * (DeviceManagerService) and mappers (DeviceMapperService): the proto file the sdk ships
 * (`proto/dmi-v1beta1.proto`, also exported as `@edgetwin/sdk/proto/dmi-v1beta1.proto`), its
 * messages, the configData value codec (Any-packed wrappers) and the resource conversions both
 * ends use.
 *
 * The transport edgecore and the mapper runtime use: `DmiClient`/`DmiGrpcServer`, a small
 * unary-only gRPC over `node:http2` with a hand-written protobuf codec (`DMI_CODEC`, field tables in
 * schema.ts), so neither loads @grpc/grpc-js nor protobufjs. `loadDmi()` loads @grpc/grpc-js and
 * @grpc/proto-loader on first use: the independent peer the tests and the testing kit use.
 */
export { DMI_PROTO, loadDmi, unary, type DmiRuntime } from './grpc.js';
export { DMI_CODEC, DMI_PACKAGE, DMI_SCHEMA, DMI_SERVICES, type DmiMethod, type DmiService } from './schema.js';
export { Codec, type FieldSpec, type Message, type ScalarType, type Schema } from './codec.js';
export { WireError } from './wire.js';
export { GrpcError, Status, statusName, encodeGrpcMessage, decodeGrpcMessage } from './grpc-status.js';
export { DmiClient, type DmiClientOptions } from './h2-client.js';
export { DmiGrpcServer, type DmiCall, type DmiGrpcServerOptions, type UnaryHandler } from './h2-server.js';
export { DMI_AUTHORIZATION, bearerToken, dmiTokenDigest, dmiTokenMatches, newDmiToken } from './auth.js';
export * from './messages.js';
export * from './any-values.js';
export * from './convert.js';

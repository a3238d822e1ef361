/**
 * `@edgetwin/sdk/dmi`: KubeEdge's DMI v1beta1, the gRPC contract between edgecore
 * (DeviceManagerService) and mappers (DeviceMapperService): the proto file the sdk ships
 * (`proto/dmi-v1beta1.proto`, also exported as `@edgetwin/sdk/proto/dmi-v1beta1.proto`), its
 * messages, the configData value codec (Any-packed wrappers) and the resource conversions both
 * ends use. `loadDmi()` loads @grpc/grpc-js and the services on first use.
 */
export { DMI_PROTO, loadDmi, unary, type DmiRuntime } from './grpc.js';
export * from './messages.js';
export * from './any-values.js';
export * from './convert.js';

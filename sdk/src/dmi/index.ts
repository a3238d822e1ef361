/**
 * `@edgetwin/sdk/dmi`: KubeEdge's DMI v1beta1, the gRPC contract between edgecore
 * (DeviceManagerService) and mappers (DeviceMapperService). The .proto file ships with the sdk
 * (`proto/dmi-v1beta1.proto`, also exported as `@edgetwin/sdk/proto/dmi-v1beta1.proto`).
 */
import { fileURLToPath } from 'node:url';

/** Absolute path of the DMI v1beta1 proto file. */
export const DMI_PROTO = fileURLToPath(new URL('../../proto/dmi-v1beta1.proto', import.meta.url));

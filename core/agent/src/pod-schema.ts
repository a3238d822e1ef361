/**
 * The subset of the Kubernetes core/v1 Pod that the edge agent runs, defined once with TypeBox.
 * Objects are closed (`additionalProperties: false`): a field the agent does not implement is
 * refused with a reason (see `parsePod`), never silently ignored. Fields the API server fills in
 * with defaults that change nothing on an edge node (dnsPolicy, schedulerName, tolerations, ...)
 * are accepted and ignored, listed in `IGNORED_FIELDS`.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { ObjectMetaSchema } from '@edgetwin/sdk';
import { Type } from '@edgetwin/sdk/typebox';

const Str = Type.String();
const Opt = <T extends TSchema>(s: T) => Type.Optional(s);
const closed = { additionalProperties: false } as const;

export const EnvVarSchema = Type.Object(
  { name: Type.String({ minLength: 1 }), value: Opt(Str) },
  { ...closed, description: 'Only literal values; valueFrom is not supported.' },
);

export const ContainerPortSchema = Type.Object(
  {
    name: Opt(Str),
    containerPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    hostPort: Opt(Type.Integer({ minimum: 0, maximum: 65535 })),
    protocol: Opt(Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('SCTP')])),
    hostIP: Opt(Str),
  },
  closed,
);

export const VolumeMountSchema = Type.Object(
  { name: Type.String({ minLength: 1 }), mountPath: Type.String({ minLength: 1 }), readOnly: Opt(Type.Boolean()) },
  closed,
);

const Quantity = Type.Union([Type.String(), Type.Number()]);
export const ResourcesSchema = Type.Object(
  {
    limits: Opt(Type.Object({ cpu: Opt(Quantity), memory: Opt(Quantity) }, closed)),
    requests: Opt(Type.Object({ cpu: Opt(Quantity), memory: Opt(Quantity) }, closed)),
  },
  closed,
);

const IntOrString = Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String({ minLength: 1 })]);

export const ProbeSchema = Type.Object(
  {
    exec: Opt(Type.Object({ command: Type.Array(Str, { minItems: 1 }) }, closed)),
    httpGet: Opt(
      Type.Object(
        {
          path: Opt(Str),
          port: IntOrString,
          host: Opt(Str),
          scheme: Opt(Type.Union([Type.Literal('HTTP'), Type.Literal('HTTPS')])),
          httpHeaders: Opt(Type.Array(Type.Object({ name: Str, value: Str }, closed))),
        },
        closed,
      ),
    ),
    tcpSocket: Opt(Type.Object({ port: IntOrString, host: Opt(Str) }, closed)),
    initialDelaySeconds: Type.Integer({ minimum: 0, default: 0 }),
    periodSeconds: Type.Integer({ minimum: 1, default: 10 }),
    timeoutSeconds: Type.Integer({ minimum: 1, default: 1 }),
    successThreshold: Type.Integer({ minimum: 1, default: 1 }),
    failureThreshold: Type.Integer({ minimum: 1, default: 3 }),
  },
  closed,
);
export type Probe = Static<typeof ProbeSchema>;

export const ContainerSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' }),
    image: Type.String({ minLength: 1 }),
    command: Opt(Type.Array(Str)),
    args: Opt(Type.Array(Str)),
    workingDir: Opt(Str),
    env: Opt(Type.Array(EnvVarSchema)),
    ports: Opt(Type.Array(ContainerPortSchema)),
    volumeMounts: Opt(Type.Array(VolumeMountSchema)),
    resources: Opt(ResourcesSchema),
    livenessProbe: Opt(ProbeSchema),
    readinessProbe: Opt(ProbeSchema),
    // Accepted and ignored (API server defaults; images are imported, never pulled by policy).
    imagePullPolicy: Opt(Type.Union([Type.Literal('Always'), Type.Literal('IfNotPresent'), Type.Literal('Never')])),
    terminationMessagePath: Opt(Str),
    terminationMessagePolicy: Opt(Str),
  },
  closed,
);
export type Container = Static<typeof ContainerSchema>;

export const VolumeSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    hostPath: Opt(Type.Object({ path: Type.String({ minLength: 1 }), type: Opt(Str) }, closed)),
    emptyDir: Opt(Type.Object({ medium: Opt(Type.Literal('')), sizeLimit: Opt(Quantity) }, closed)),
    configMap: Opt(
      Type.Object(
        {
          name: Type.String({ minLength: 1 }),
          items: Opt(Type.Array(Type.Object({ key: Str, path: Str, mode: Opt(Type.Integer()) }, closed))),
          defaultMode: Opt(Type.Integer()),
          optional: Opt(Type.Boolean()),
        },
        closed,
      ),
    ),
    /** Only the API server's `kube-api-access-*` token volume is accepted, and skipped. */
    projected: Opt(Type.Unknown()),
  },
  closed,
);
export type Volume = Static<typeof VolumeSchema>;

export const RestartPolicySchema = Type.Union([
  Type.Literal('Always'),
  Type.Literal('OnFailure'),
  Type.Literal('Never'),
]);
export type RestartPolicy = Static<typeof RestartPolicySchema>;

export const PodSpecSchema = Type.Object(
  {
    containers: Type.Array(ContainerSchema, { minItems: 1 }),
    volumes: Opt(Type.Array(VolumeSchema)),
    restartPolicy: Type.Optional(RestartPolicySchema),
    hostNetwork: Opt(Type.Boolean()),
    nodeName: Opt(Str),
    runtimeClassName: Opt(Type.Union([Type.Literal('containerd'), Type.Literal('process')])),
    terminationGracePeriodSeconds: Opt(Type.Integer({ minimum: 0 })),
    // Accepted and ignored: scheduling and API-server defaults that change nothing on the node.
    dnsPolicy: Opt(Str),
    schedulerName: Opt(Str),
    tolerations: Opt(Type.Array(Type.Unknown())),
    nodeSelector: Opt(Type.Record(Str, Str)),
    priority: Opt(Type.Integer()),
    priorityClassName: Opt(Str),
    preemptionPolicy: Opt(Str),
    enableServiceLinks: Opt(Type.Boolean()),
    serviceAccountName: Opt(Str),
    serviceAccount: Opt(Str),
    automountServiceAccountToken: Opt(Type.Boolean()),
    securityContext: Opt(Type.Object({}, closed)),
  },
  closed,
);
export type PodSpec = Static<typeof PodSpecSchema>;

export const PodSchema = Type.Object(
  {
    apiVersion: Type.Literal('v1'),
    kind: Type.Literal('Pod'),
    metadata: Type.Object(
      {
        ...ObjectMetaSchema.properties,
        deletionTimestamp: Opt(Str),
        deletionGracePeriodSeconds: Opt(Type.Integer({ minimum: 0 })),
      },
      { additionalProperties: true },
    ),
    spec: PodSpecSchema,
    /** Whatever status a Pod from the API server carries; the agent computes its own. */
    status: Opt(Type.Unknown()),
  },
  { additionalProperties: false, $id: 'Pod' },
);
export type Pod = Static<typeof PodSchema>;

export const ConfigMapSchema = Type.Object(
  {
    apiVersion: Type.Literal('v1'),
    kind: Type.Literal('ConfigMap'),
    metadata: ObjectMetaSchema,
    data: Type.Record(Str, Str, { default: {} }),
  },
  { additionalProperties: true, $id: 'ConfigMap' },
);
export type ConfigMap = Static<typeof ConfigMapSchema>;

/** Fields accepted only so API-server Pods apply; they have no effect on the edge. */
export const IGNORED_FIELDS = [
  'spec.dnsPolicy',
  'spec.schedulerName',
  'spec.tolerations',
  'spec.nodeSelector',
  'spec.priority',
  'spec.priorityClassName',
  'spec.preemptionPolicy',
  'spec.enableServiceLinks',
  'spec.serviceAccountName',
  'spec.serviceAccount',
  'spec.automountServiceAccountToken',
  'spec.securityContext (empty only)',
  'spec.volumes[].projected (kube-api-access-* only)',
  'spec.containers[].imagePullPolicy',
  'spec.containers[].terminationMessagePath',
  'spec.containers[].terminationMessagePolicy',
] as const;

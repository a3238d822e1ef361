/** What `new EdgeCore(options)` takes: the devices, the broker, the HTTP API, DMI, mappers, pods and the cloud link. */
import type { StdioOptions } from 'node:child_process';
import type { Logger } from 'pino';
import type { DmiAnonymous } from '../dmi/dmi-anonymous.js';
import type { MapperCommand } from '../supervisor/mapper-commands.js';

export interface EdgeCoreOptions {
  devicesDir: string;
  /** Size limit of one devices file (default 8 MiB); larger files are not loaded (ET_TOO_LARGE). */
  maxDevicesFileBytes?: number | undefined;
  dataDir: string;
  nodeName: string;
  logger: Logger;
  /** Embedded broker port (0 = any free port); ignored with mqttUrl. */
  mqttPort: number;
  /** An external broker instead of the embedded one. */
  mqttUrl?: string | undefined;
  /**
   * Authentication and ACLs on the embedded broker (default true). edgecore and each mapper get
   * an identity of their own; people and apps are added with `edgetwin users add`. With an
   * external broker, edgecore and the mappers still log in with these identities (write the
   * broker's files with `edgetwin mqtt mosquitto-config`).
   */
  mqttAuth?: boolean;
  /** Let clients without credentials in, with full access (default false; for trusted test rigs only). */
  mqttAllowAnonymous?: boolean;
  /** A TLS listener on the embedded broker; with `caFile`, clients may log in with a certificate (CN = user). */
  mqttTls?: { port: number; host?: string; certFile: string; keyFile: string; caFile?: string } | undefined;
  httpPort: number;
  httpHost?: string;
  /** Bearer tokens on the HTTP API: `auto` (default: once a token exists, or off loopback), `tokens`, `none`. */
  httpAuth?: 'auto' | 'tokens' | 'none';
  /** Allow a non-loopback HTTP bind without authentication (warns at every start). */
  httpInsecure?: boolean;
  /** Host header names accepted besides this machine's (`*`: any). */
  httpAllowedHosts?: string[];
  /** Origins allowed by CORS (none by default). */
  httpCorsOrigins?: string[];
  /** /metrics without a token. */
  httpMetricsOpen?: boolean;
  /** HTTPS for the API; with caFile, client certificates signed by it are required. */
  httpTls?: { certFile: string; keyFile: string; caFile?: string } | undefined;
  dataTopicBase?: string;
  /** Start and supervise mapper processes (default true). */
  mappers?: boolean;
  /** KubeEdge DMI socket (default `<dataDir>/dmi/dmi.sock`); false serves no DMI. */
  dmiSocket?: string | false | undefined;
  /**
   * DMI calls without a token (KubeEdge mappers know none): `unmanaged` (default) lets them serve
   * only protocols edgecore runs no mapper of its own for; `deny` refuses them all.
   */
  dmiAnonymous?: DmiAnonymous;
  /** Protocols whose mapper is another program (e.g. a KubeEdge mapper-framework mapper): edgecore starts none for them. */
  externalMappers?: string[];
  mapperCommands?: Record<string, MapperCommand>;
  /**
   * Run each mapper under a uid of its own: BASE + a fixed offset per protocol, group BASE (see
   * supervisor/mapper-users.ts). Needs edgecore to run as root; refused otherwise. Default: off.
   */
  mapperUids?: number | undefined;
  mapperStdio?: StdioOptions;
  /** Static pod manifests (like kubelet's static pods); enables the pod agent. */
  podsDir?: string | undefined;
  /** Pod runtime: containerd over CRI, supervised host processes, or auto (containerd when reachable). */
  podRuntime?: 'containerd' | 'process' | 'auto';
  containerdAddress?: string | undefined;
  /** cloudcore's URL: devices then come from Kubernetes through the cloud link, not from devicesDir. */
  cloudUrl?: string | undefined;
  /** Join token (`edgetwin cloud token create`); needed on the first connection only. */
  cloudToken?: string | undefined;
  /** PEM file of the CA that signed cloudcore's certificate. */
  cloudCa?: string | undefined;
  /** Heartbeat interval on the cloud link (default 15 s). */
  cloudKeepaliveMs?: number;
  /** How long reported values are kept in the history (default 24 h; 0: no history). */
  historyRetentionMs?: number;
}

/**
 * What the pod agent needs from a container runtime. Two implementations: `containerd` (CRI over
 * gRPC, real containers) and `process` (a container's command as a supervised host process).
 * Runtimes are stateless toward the agent: every id they hand out survives an agent restart, so
 * a restarted agent adopts what is still running instead of starting it twice.
 */
export type RuntimeName = 'containerd' | 'process';

export interface SandboxSpec {
  /** `{namespace}/{name}` */
  podKey: string;
  namespace: string;
  name: string;
  uid: string;
  /** Directory the containers' logs go to. */
  logDir: string;
  hostNetwork: boolean;
  labels: Record<string, string>;
}

export interface MountSpec {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

export interface ContainerSpec {
  podKey: string;
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env: { name: string; value: string }[];
  workingDir?: string;
  mounts: MountSpec[];
  /** Limits; undefined when the pod sets none. */
  memoryLimitBytes?: number;
  cpuLimitMilli?: number;
  /** 0 for the first container of this name in the pod, +1 per restart. */
  attempt: number;
  /** Absolute path of this attempt's log file (must be inside the sandbox's logDir). */
  logPath: string;
}

export type ContainerStateName = 'created' | 'running' | 'exited' | 'unknown' | 'missing';

export interface ContainerInfo {
  state: ContainerStateName;
  exitCode?: number;
  /** ms since epoch */
  startedAt?: number;
  finishedAt?: number;
  reason?: string;
  message?: string;
}

export interface ExecResult {
  exitCode: number;
  output: string;
}

export interface ContainerRuntime {
  readonly name: RuntimeName;
  /** How the runtime writes log lines: CRI format (`<time> <stream> <P|F> <text>`) or raw bytes. */
  readonly logFormat: 'cri' | 'raw';
  start(): Promise<void>;
  /** Closes connections; never stops the pods (they keep running while the agent is down). */
  stop(): Promise<void>;
  runSandbox(spec: SandboxSpec): Promise<string>;
  sandboxAlive(id: string): Promise<boolean>;
  removeSandbox(id: string): Promise<void>;
  createContainer(sandboxId: string, sandbox: SandboxSpec, spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  containerInfo(id: string): Promise<ContainerInfo>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the container has exited. */
  stopContainer(id: string, graceMs: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  /** Runs a command in the container (exec probes); rejects with ET_TIMEOUT after `timeoutMs`. */
  exec(id: string, command: string[], timeoutMs: number): Promise<ExecResult>;
}

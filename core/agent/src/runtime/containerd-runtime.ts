/**
 * The `containerd` runtime: real containers through containerd's CRI plugin. Pods use the host
 * network (no CNI on edge nodes here), so sandboxes get no hostname. Images are never pulled by
 * policy: they must be in containerd's k8s.io namespace (`edgetwin images import FILE`).
 */
import { relative } from 'node:path';
import { EdgeTwinError, isEdgeTwinError } from '@edgetwin/sdk';
import type { Logger } from 'pino';
import { CriClient, nsToMs } from './cri-client.js';
import type { ContainerInfo, ContainerRuntime, ContainerSpec, ExecResult, SandboxSpec } from './types.js';

export interface ContainerdRuntimeOptions {
  /** containerd's socket path (or unix:// address). */
  address: string;
  timeoutMs: number;
  logger: Logger;
}

const NS_OPTIONS = { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } as const;

function ignoreNotFound(err: unknown): void {
  if (!isEdgeTwinError(err, 'ET_NOT_FOUND')) throw err;
}

export class ContainerdRuntime implements ContainerRuntime {
  readonly name = 'containerd' as const;
  readonly logFormat = 'cri' as const;
  private client: CriClient | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: ContainerdRuntimeOptions) {
    this.log = opts.logger.child({ runtime: 'containerd' });
  }

  private cri(): CriClient {
    if (!this.client) throw new EdgeTwinError('ET_UNAVAILABLE', 'containerd runtime is not started');
    return this.client;
  }

  async start(): Promise<void> {
    this.client = new CriClient(this.opts.address, this.opts.timeoutMs);
    const v = await this.client.version();
    this.log.info(
      { address: this.opts.address, runtime: v.runtimeName, version: v.runtimeVersion, cri: v.runtimeApiVersion },
      'connected to containerd',
    );
  }

  stop(): Promise<void> {
    this.client?.close();
    this.client = undefined;
    return Promise.resolve();
  }

  private sandboxConfig(s: SandboxSpec): object {
    return {
      metadata: { name: s.name, uid: s.uid, namespace: s.namespace, attempt: 0 },
      logDirectory: s.logDir,
      labels: s.labels,
      linux: { securityContext: { namespaceOptions: NS_OPTIONS } },
    };
  }

  async runSandbox(spec: SandboxSpec): Promise<string> {
    if (!spec.hostNetwork) {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `pod ${spec.podKey}: containerd pods need hostNetwork: true (no CNI here)`,
      );
    }
    const res = await this.cri().call<{ podSandboxId: string }>('runtime', 'RunPodSandbox', {
      config: this.sandboxConfig(spec),
    });
    return res.podSandboxId;
  }

  async sandboxAlive(id: string): Promise<boolean> {
    try {
      return (await this.cri().sandboxStatus(id)).state === 'SANDBOX_READY';
    } catch (err) {
      ignoreNotFound(err);
      return false;
    }
  }

  async removeSandbox(id: string): Promise<void> {
    await this.cri().call('runtime', 'StopPodSandbox', { podSandboxId: id }).catch(ignoreNotFound);
    await this.cri().call('runtime', 'RemovePodSandbox', { podSandboxId: id }).catch(ignoreNotFound);
  }

  async createContainer(sandboxId: string, sandbox: SandboxSpec, spec: ContainerSpec): Promise<string> {
    if (!(await this.cri().imagePresent(spec.image))) {
      throw new EdgeTwinError(
        'ET_NOT_FOUND',
        `image ${spec.image} is not in containerd; this node pulls nothing: import it with "edgetwin images import FILE"`,
        { details: { reason: 'ErrImageNeverPull', image: spec.image } },
      );
    }
    const resources: Record<string, number> = {};
    if (spec.memoryLimitBytes !== undefined) resources.memoryLimitInBytes = spec.memoryLimitBytes;
    if (spec.cpuLimitMilli !== undefined) {
      resources.cpuPeriod = 100_000;
      resources.cpuQuota = spec.cpuLimitMilli * 100;
    }
    const config = {
      metadata: { name: spec.name, attempt: spec.attempt },
      image: { image: spec.image },
      command: spec.command ?? [],
      args: spec.args ?? [],
      workingDir: spec.workingDir ?? '',
      envs: spec.env.map((e) => ({ key: e.name, value: e.value })),
      mounts: spec.mounts.map((m) => ({ containerPath: m.containerPath, hostPath: m.hostPath, readonly: m.readOnly })),
      labels: { ...sandbox.labels, 'io.edgetwin.container': spec.name },
      logPath: relative(sandbox.logDir, spec.logPath),
      linux: { resources, securityContext: { namespaceOptions: NS_OPTIONS } },
    };
    const res = await this.cri().call<{ containerId: string }>('runtime', 'CreateContainer', {
      podSandboxId: sandboxId,
      config,
      sandboxConfig: this.sandboxConfig(sandbox),
    });
    return res.containerId;
  }

  async startContainer(id: string): Promise<void> {
    await this.cri().call('runtime', 'StartContainer', { containerId: id });
  }

  async containerInfo(id: string): Promise<ContainerInfo> {
    let s;
    try {
      s = await this.cri().containerStatus(id);
    } catch (err) {
      ignoreNotFound(err);
      return { state: 'missing' };
    }
    const startedAt = nsToMs(s.startedAt);
    const finishedAt = nsToMs(s.finishedAt);
    const state = (
      {
        CONTAINER_CREATED: 'created',
        CONTAINER_RUNNING: 'running',
        CONTAINER_EXITED: 'exited',
        CONTAINER_UNKNOWN: 'unknown',
      } as const
    )[s.state];
    return {
      state,
      ...(state === 'exited' ? { exitCode: s.exitCode } : {}),
      ...(startedAt !== undefined ? { startedAt } : {}),
      ...(finishedAt !== undefined ? { finishedAt } : {}),
      ...(s.reason ? { reason: s.reason } : {}),
      ...(s.message ? { message: s.message } : {}),
    };
  }

  async stopContainer(id: string, graceMs: number): Promise<void> {
    const timeout = Math.ceil(graceMs / 1000);
    await this.cri()
      .call('runtime', 'StopContainer', { containerId: id, timeout }, graceMs + this.opts.timeoutMs)
      .catch(ignoreNotFound);
  }

  async removeContainer(id: string): Promise<void> {
    await this.cri().call('runtime', 'RemoveContainer', { containerId: id }).catch(ignoreNotFound);
  }

  async exec(id: string, command: string[], timeoutMs: number): Promise<ExecResult> {
    const res = await this.cri().call<{ stdout: Buffer; stderr: Buffer; exitCode: number }>(
      'runtime',
      'ExecSync',
      { containerId: id, cmd: command, timeout: Math.ceil(timeoutMs / 1000) },
      timeoutMs + 5000,
    );
    return { exitCode: res.exitCode, output: Buffer.concat([res.stdout, res.stderr]).toString('utf8') };
  }
}

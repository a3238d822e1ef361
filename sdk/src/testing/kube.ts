/**
 * A real Kubernetes API server for CRDs in tests: `../shared/k8s/start-crd-apiserver.sh` (the
 * upstream apiextensions-apiserver with etcd) started on free loopback ports with its own state
 * dir, or the cluster named by EDGETWIN_TEST_KUBECONFIG. When it cannot be started, tests skip
 * with the reason, except under CI=true where that is a failure.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { freePort } from './ports.js';

export interface KubeTestCluster {
  kubeconfig: string;
  /** Runs kubectl against the cluster; resolves with stdout, rejects with stderr. */
  kubectl(args: string[], input?: string): Promise<string>;
  stop(): Promise<void>;
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
  timeoutMs = 300_000,
): Promise<string> {
  return new Promise((res, rej) => {
    const child = execFile(
      cmd,
      args,
      { env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) rej(new Error(`${cmd} ${args.join(' ')} failed: ${stderr || err.message}`, { cause: err }));
        else res(stdout);
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Where the start/stop scripts are: EDGETWIN_K8S_SCRIPTS, else `../shared/k8s` above the repo. */
export function crdApiServerScripts(): string | undefined {
  const fromEnv = process.env.EDGETWIN_K8S_SCRIPTS;
  if (fromEnv) return fromEnv;
  let dir = resolve(process.cwd());
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, '..', 'shared', 'k8s');
    if (existsSync(join(candidate, 'start-crd-apiserver.sh'))) return resolve(candidate);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

function kubectlFor(kubeconfig: string): KubeTestCluster['kubectl'] {
  return (args, input) => run('kubectl', ['--kubeconfig', kubeconfig, ...args], process.env, input, 60_000);
}

/**
 * Starts a private CRD API server, or returns a reason to skip (never under CI=true: throws).
 * Stop it with `stop()` in afterAll.
 */
export async function startKubeApiServer(): Promise<KubeTestCluster | string> {
  const given = process.env.EDGETWIN_TEST_KUBECONFIG;
  if (given) return { kubeconfig: given, kubectl: kubectlFor(given), stop: () => Promise.resolve() };
  const fail = (reason: string): string => {
    if (process.env.CI === 'true') throw new Error(`Kubernetes API server for tests: ${reason}`);
    console.warn(`skipping: ${reason}`);
    return reason;
  };
  const scripts = crdApiServerScripts();
  if (!scripts)
    return fail('needs ../shared/k8s/start-crd-apiserver.sh (or EDGETWIN_K8S_SCRIPTS, or EDGETWIN_TEST_KUBECONFIG)');
  // etcd and the API server get 30 s and 60 s to become ready; on a machine busy with other test
  // files that is sometimes too short, so one failed start is tried again on fresh ports.
  const first = await startOnce(scripts);
  if (typeof first !== 'string') return first;
  const second = await startOnce(scripts);
  return typeof second === 'string' ? fail(`could not start the CRD API server (twice): ${second}`) : second;
}

async function startOnce(scripts: string): Promise<KubeTestCluster | string> {
  const state = mkdtempSync(join(tmpdir(), 'edgetwin-kube-'));
  const kubeconfig = join(state, 'kubeconfig');
  const env = {
    ...process.env,
    CRD_APISERVER_STATE: state,
    CRD_APISERVER_PORT: String(await freePort()),
    CRD_ETCD_PORT: String(await freePort()),
    CRD_ETCD_PEER_PORT: String(await freePort()),
  };
  const stop = async (): Promise<void> => {
    await run(join(scripts, 'stop-crd-apiserver.sh'), [], { ...env, CRD_APISERVER_PURGE: '1' }).catch(() => undefined);
    rmSync(state, { recursive: true, force: true });
  };
  try {
    await run(join(scripts, 'start-crd-apiserver.sh'), [kubeconfig], env);
  } catch (err) {
    await stop();
    return (err as Error).message.slice(0, 500);
  }
  return { kubeconfig, kubectl: kubectlFor(kubeconfig), stop };
}

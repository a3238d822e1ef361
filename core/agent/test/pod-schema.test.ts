/**
 * The Pod subset: what an API server sends for an ordinary pod is accepted (its harmless defaults
 * ignored), and every field the agent does not implement is refused with its path and a reason.
 */
import { describe, expect, it } from 'vitest';
import { isEdgeTwinError } from '@edgetwin/sdk';
import { parsePod } from '@edgetwin/agent';

interface PodDoc {
  spec: { containers: Record<string, unknown>[]; volumes: Record<string, unknown>[]; [key: string]: unknown };
}

const apiServerPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'sensor-reader',
    namespace: 'edge',
    uid: '9b1f',
    resourceVersion: '1234',
    creationTimestamp: '2026-01-01T00:00:00Z',
    labels: { app: 'reader' },
  },
  spec: {
    nodeName: 'edge-1',
    containers: [
      {
        name: 'reader',
        image: 'docker.io/edgetwin/reader:1',
        imagePullPolicy: 'IfNotPresent',
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        resources: {},
        volumeMounts: [
          { name: 'kube-api-access-x7k2p', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
        ],
      },
    ],
    volumes: [{ name: 'kube-api-access-x7k2p', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }],
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    serviceAccountName: 'default',
    serviceAccount: 'default',
    securityContext: {},
    schedulerName: 'default-scheduler',
    tolerations: [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ],
    priority: 0,
    enableServiceLinks: true,
    preemptionPolicy: 'PreemptLowerPriority',
  },
  status: { phase: 'Pending', qosClass: 'BestEffort' },
};

function refusal(mutate: (p: PodDoc) => void): string {
  const p = structuredClone(apiServerPod) as unknown as PodDoc;
  mutate(p);
  try {
    parsePod(p, 'test');
  } catch (err) {
    if (isEdgeTwinError(err, 'ET_SCHEMA')) return err.message;
    throw err;
  }
  throw new Error('expected the pod to be refused');
}

describe('Pod subset', () => {
  it('a pod as the API server returns it is accepted, probes get their Kubernetes defaults', () => {
    const p = structuredClone(apiServerPod) as unknown as PodDoc;
    p.spec.containers[0]!.livenessProbe = { httpGet: { path: '/healthz', port: 8080 } };
    const pod = parsePod(p, 'cloud');
    expect(pod.metadata.name).toBe('sensor-reader');
    expect(pod.spec.containers[0]?.livenessProbe).toMatchObject({
      periodSeconds: 10,
      timeoutSeconds: 1,
      failureThreshold: 3,
      successThreshold: 1,
      initialDelaySeconds: 0,
    });
  });

  it.each([
    ['spec.initContainers', (p: PodDoc) => (p.spec.initContainers = [{ name: 'i', image: 'x' }])],
    ['spec.hostPID', (p: PodDoc) => (p.spec.hostPID = true)],
    ['spec.securityContext.runAsUser', (p: PodDoc) => (p.spec.securityContext = { runAsUser: 1000 })],
    [
      'spec.containers[0].startupProbe',
      (p: PodDoc) => (p.spec.containers[0]!.startupProbe = { exec: { command: ['true'] } }),
    ],
    [
      'spec.containers[0].lifecycle',
      (p: PodDoc) => (p.spec.containers[0]!.lifecycle = { preStop: { exec: { command: ['true'] } } }),
    ],
    ['spec.containers[0].envFrom', (p: PodDoc) => (p.spec.containers[0]!.envFrom = [{ configMapRef: { name: 'c' } }])],
    [
      'spec.volumes[1].persistentVolumeClaim',
      (p: PodDoc) => p.spec.volumes.push({ name: 'data', persistentVolumeClaim: { claimName: 'd' } }),
    ],
  ])('%s is refused by name', (field, mutate) => {
    const msg = refusal(mutate);
    expect(msg).toContain(`field ${field} is not supported by the EdgeTwin pod agent`);
    expect(msg).toContain('Pod edge/sensor-reader');
  });

  it('rules a schema cannot express are checked with a reason', () => {
    expect(refusal((p) => (p.spec.volumes = [{ name: 'creds', projected: { sources: [] } }]))).toContain(
      'projected volumes are not supported',
    );
    expect(refusal((p) => (p.spec.containers[0]!.volumeMounts = [{ name: 'missing', mountPath: '/x' }]))).toContain(
      'mounts volume "missing" that spec.volumes does not define',
    );
    expect(refusal((p) => p.spec.containers.push({ name: 'reader', image: 'x' }))).toContain(
      'container name "reader" is used twice',
    );
    expect(refusal((p) => (p.spec.restartPolicy = 'Sometimes'))).toContain('spec.restartPolicy');
  });
});

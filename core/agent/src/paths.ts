/** Where the agent keeps its state under edgecore's data directory. Shared with the CLI commands. */
import { join } from 'node:path';

export interface AgentPaths {
  root: string;
  db: string;
  logs: string;
  volumes: string;
  process: string;
}

export function agentPaths(dataDir: string): AgentPaths {
  const root = join(dataDir, 'agent');
  return {
    root,
    db: join(root, 'agent.db'),
    logs: join(root, 'logs'),
    volumes: join(root, 'volumes'),
    process: join(root, 'process'),
  };
}

/** containerd's socket when none is configured (Debian's containerd package). */
export const DEFAULT_CONTAINERD_ADDRESS = '/run/containerd/containerd.sock';

/** A running throwaway cluster, as startCluster() made it. */
export interface ClusterInfo {
  /** The temporary folder holding its data, log and Unix socket. */
  dir: string;
  /** Where its programs (initdb, pg_ctl, psql, pg_dump) are. */
  bindir: string;
  port: number;
  /** The bootstrap superuser over the Unix socket, no password. */
  adminUrl: string;
  /** The test role over 127.0.0.1 with its password, to the maintenance database `postgres`. */
  url: string;
  role: string;
  password: string;
}

export const TEST_ROLE: string;
export class ClusterError extends Error {}
export function findBinDir(): string | undefined;
export function startCluster(): Promise<ClusterInfo>;
export function stopCluster(cluster: ClusterInfo | string): void;
export function stopOnExit(cluster: ClusterInfo): () => void;
export function stopWhenGone(cluster: ClusterInfo, pid?: number): void;

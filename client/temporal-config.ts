/**
 * Temporal connection settings, as every Temporal tool reads them
 * (`@temporalio/envconfig`): `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`,
 * `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`, `TEMPORAL_PROFILE` and the profile file
 * (`TEMPORAL_CONFIG_FILE`, default ~/.config/temporalio/temporal.toml). Used by
 * workers and clients alike.
 */
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

/** Where to connect, overriding the configured address/namespace when given. */
export function temporalSettings(override: { address?: string; namespace?: string } = {}): { connection: NativeConnectionOptions; namespace: string; address: string } {
  const cfg = loadClientConnectConfig();
  const connection = { ...cfg.connectionOptions, ...(override.address ? { address: override.address } : {}) };
  connection.address ??= '127.0.0.1:7233';
  return { connection, namespace: override.namespace ?? cfg.namespace ?? 'default', address: connection.address };
}

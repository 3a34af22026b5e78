/** Checking a store a client call names, before anything starts. */
import { BadStoreUriError, ConfigError } from '../contracts/errors.js';
import { configuredStoreUri, openStore } from '../storage/open.js';

/** `store` (default: the configured one) when it names a store lightpath can open; else ConfigError naming `field`. Nothing is read. */
export function checkedStore(store: string | undefined, field: string): string {
  const uri = store ?? configuredStoreUri();
  try {
    openStore(uri);
  } catch (e) {
    if (e instanceof BadStoreUriError) throw new ConfigError(`${field}: ${e.message}`, [{ path: field, message: e.message }]);
    throw e;
  }
  return uri;
}

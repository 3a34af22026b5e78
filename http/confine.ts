/**
 * Confinement of what HTTP callers name: data sources (a pipeline's
 * `data.source`, a retrain's `data`), watch locations and artifact stores must lie
 * in the data roots — the built-in data sets, the server's configured store and
 * `LIGHTPATH_DATA_ROOTS` (storage/data-roots.ts says who is confined where, and
 * why). Checked before anything starts; a refusal is a 400 naming the field.
 */
import { ConfigError } from '../contracts/errors.js';
import { outsideDataRoots, parseDataRoots } from '../storage/data-roots.js';
import { configuredStoreUri } from '../storage/open.js';

/** One caller-named location and the request field it came from. */
export interface Named {
  field: string;
  value: string | undefined;
}

/** Throws ConfigError (400) naming the first field whose location is outside the server's data roots. */
export async function confineToDataRoots(...named: Named[]): Promise<void> {
  const roots = parseDataRoots(process.env.LIGHTPATH_DATA_ROOTS, configuredStoreUri());
  for (const { field, value } of named) {
    if (value === undefined) continue;
    const why = await outsideDataRoots(value, roots);
    if (why) throw new ConfigError(`${field}: ${why}`, [{ path: field, message: why }]);
  }
}

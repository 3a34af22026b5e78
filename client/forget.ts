/** Checking a forget request for the client API (`lp.startForget`) before anything starts. */
import { ConfigError } from '../contracts/errors.js';
import type { Contribution, ContributionSelector } from '../contracts/forget.js';
import type { Ref } from '../contracts/types.js';
import { decodeBundle } from '../storage/bundle.js';
import { storeForUri } from '../storage/open.js';

/** What `startForget` takes: the run whose estimator to forget from, what to forget, and whether to purge. */
export interface ForgetOptions {
  /** A completed pipeline with GLAI, retrain, merge or forget run. */
  from: string;
  /** Contribution ids (SHA-256 of their statistics artifacts, as the estimator's manifest lists them). */
  contributions?: string[];
  /** Every contribution of this federated site. */
  site?: string;
  /** Every contribution that arrived before this time (ISO 8601). */
  before?: string;
  /** Delete the removed contributions' statistics artifacts from the store. */
  purge?: boolean;
  store?: string;
}

/** The selector of a forget request; ConfigError naming the field when it is empty or malformed. */
export function forgetSelector(o: ForgetOptions): ContributionSelector {
  const ids = o.contributions ?? [];
  if (!ids.length && o.site === undefined && o.before === undefined) throw new ConfigError('forget: give `contributions`, `site` or `before` (what to forget)', []);
  for (const id of ids) if (!/^[0-9a-f]{64}$/.test(id)) throw new ConfigError(`\`contributions\`: ${JSON.stringify(id)} is not a contribution id (64 hex digits)`, []);
  if (o.before !== undefined && (!/^\d{4}-\d{2}-\d{2}/.test(o.before) || Number.isNaN(Date.parse(o.before)))) {
    throw new ConfigError(`\`before\`: ${JSON.stringify(o.before)} is not a time (ISO 8601, e.g. 2026-01-31T00:00:00Z)`, []);
  }
  return { ...(ids.length ? { contributions: ids } : {}), ...(o.site !== undefined ? { site: o.site } : {}), ...(o.before !== undefined ? { before: new Date(o.before).toISOString() } : {}) };
}

/** The contributions an estimator's manifest lists (empty for an estimator written before provenance), read from the store. */
export async function estimatorContributions(estimator: Ref): Promise<Contribution[]> {
  const meta = decodeBundle(await storeForUri(estimator.uri).get(estimator), estimator.uri).meta as { contributions?: Contribution[] };
  return meta.contributions ?? [];
}

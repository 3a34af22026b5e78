/**
 * Hosting the HTTP API (http/): the process `lightpath serve` runs. Refuses a
 * non-loopback address without a token, listens, and closes on SIGINT/SIGTERM.
 */
import type { LightpathClient } from '../client/connect.js';
import { ConfigError } from '../contracts/errors.js';
import { refuseToServe } from '../http/auth.js';
import { loggerOptions } from '../http/logging.js';
import { buildServer } from '../http/server.js';

/** Where and how to serve. */
export interface ApiServerOptions {
  host: string;
  port: number;
  /** Bearer token required on /v1; none: open to every local user (loopback only). */
  token?: string;
  /** Called once listening, with the URL. */
  onListening?: (url: string) => void;
}

/** Throws ConfigError when `host` may not be served without a token. */
export function checkServable(host: string, token: string | undefined): void {
  const refused = refuseToServe(host, token);
  if (refused) throw new ConfigError(refused, []);
}

/** Serves `lp` over HTTP until the process receives SIGINT or SIGTERM. */
export async function serveApi(lp: LightpathClient, o: ApiServerOptions): Promise<void> {
  checkServable(o.host, o.token);
  const app = await buildServer(lp, { token: o.token, logger: loggerOptions() });
  const stopped = new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  o.onListening?.(await app.listen({ host: o.host, port: o.port }));
  await stopped;
  await app.close();
}

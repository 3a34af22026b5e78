/** `lightpath serve`: the client API over HTTP (http/). */
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../../contracts/errors.js';
import { refuseToServe } from '../../http/auth.js';
import { loggerOptions } from '../../http/logging.js';
import { buildServer } from '../../http/server.js';
import { fail, withClient } from '../shared.js';

/** Adds `serve` to the program. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the client API as JSON over HTTP (OpenAPI document at /openapi.json); /v1 needs `Authorization: Bearer $LIGHTPATH_API_TOKEN`')
    .option('--host <host>', 'address to bind; anything but loopback needs LIGHTPATH_API_TOKEN', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number, 0-65535');
      return n;
    }, 8080)
    .action(async (o: { host: string; port: number }) => {
      const token = process.env.LIGHTPATH_API_TOKEN || undefined;
      const refused = refuseToServe(o.host, token);
      if (refused) fail(new ConfigError(refused, []));
      await withClient(async (lp) => {
        const app = await buildServer(lp, { token, logger: loggerOptions() });
        const stopped = new Promise((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        const url = await app.listen({ host: o.host, port: o.port });
        const guard = token ? 'bearer token required on /v1' : 'no LIGHTPATH_API_TOKEN: open to every local user';
        process.stderr.write(`lightpath API on ${url} (${guard}; OpenAPI at ${url}/openapi.json)\n`);
        await stopped;
        await app.close();
      });
    });
}

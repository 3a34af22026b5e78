/** `lightpath serve`: the client API over HTTP (http/, hosted by workers/api-server.ts). */
import { InvalidArgumentError, type Command } from 'commander';
import { checkServable, serveApi } from '../../workers/api-server.js';
import { fail, withClient } from '../shared.js';

/** Adds `serve` to the program. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the client API as JSON over HTTP (OpenAPI document at /openapi.json); /v1 needs `Authorization: Bearer $LIGHTPATH_API_TOKEN`')
    .option('--host <host>', 'address to bind; anything but loopback needs LIGHTPATH_API_TOKEN', '127.0.0.1')
    .option(
      '--port <port>',
      'port to listen on (0: any free port)',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number, 0-65535');
        return n;
      },
      8080,
    )
    .action(async (o: { host: string; port: number }) => {
      const token = process.env.LIGHTPATH_API_TOKEN || undefined;
      try {
        checkServable(o.host, token);
      } catch (e) {
        fail(e);
      }
      await withClient((lp) =>
        serveApi(lp, {
          host: o.host,
          port: o.port,
          token,
          onListening: (url) => {
            const guard = token ? 'bearer token required on /v1' : 'no LIGHTPATH_API_TOKEN: open to every local user';
            process.stderr.write(`lightpath API on ${url} (${guard}; OpenAPI at ${url}/openapi.json)\n`);
          },
        }),
      );
    });
}

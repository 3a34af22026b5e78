/** `lightpath worker`: a worker process (cpu, gpu, all, or a federated site). */
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../../workflows/config.js';
import { runWorkerProcess } from '../../workers/main.js';
import { fail, positiveInt } from '../shared.js';

/** Adds `worker` to the program. */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker against the configured cluster (TEMPORAL_ADDRESS)')
    .option('--role <role>', 'cpu (workflows + light activities), gpu (training), all, or site:<name> (a federated site)', (v) => {
      if (!['cpu', 'gpu', 'all'].includes(v) && !/^site:[A-Za-z0-9_-]{1,64}$/.test(v)) throw new InvalidArgumentError('expected cpu, gpu, all or site:<name> (letters, digits, - and _)');
      return v;
    }, 'all')
    .option('--data <source>', "a site's own data: fashion-mnist, synthetic, an IDX folder or an image-set bundle file, optionally #k/n for a shard; it never leaves the site")
    .option('--slots <n>', 'training activities at once on this worker (one per GPU; on CPU each uses one core)', positiveInt, 1)
    .action(async (o: { role: string; slots: number; data?: string }) => {
      const site = /^site:(.+)$/.exec(o.role)?.[1];
      if (site && !o.data) fail(new ConfigError('--data: a site worker needs its data source', []));
      if (!site && o.data) fail(new ConfigError('--data: only a site worker (--role site:<name>) reads its own data', []));
      const roles = site ? [] : o.role === 'all' ? (['cpu', 'gpu'] as const) : [o.role as 'cpu' | 'gpu'];
      await runWorkerProcess([...roles], o.slots, site ? [{ name: site, source: o.data! }] : []).catch(fail);
    });
}

#!/usr/bin/env node
/** The `lightpath` command: one file per subcommand under cli/commands/. */
import { Command } from 'commander';
import { registerDev } from './commands/dev.js';
import { registerRun } from './commands/run.js';
import { registerRetrain } from './commands/retrain.js';
import { registerMerge } from './commands/merge.js';
import { registerForget } from './commands/forget.js';
import { registerWorker } from './commands/worker.js';
import { registerReport } from './commands/report.js';
import { registerMetrics } from './commands/metrics.js';
import { registerExport } from './commands/export.js';
import { registerRuns } from './commands/runs.js';
import { registerSchedule } from './commands/schedule.js';
import { registerServe } from './commands/serve.js';
import { registerDoctor } from './commands/doctor.js';
import { EXIT } from './shared.js';

// A usage error (unknown command or option, missing or invalid argument) is bad input: commander prints its one
// line, and the exit status is 2 as for every other bad input (commander's own is 1, which means a failed run here).
const program = new Command('lightpath').description('Deep-learning training pipelines as durable Temporal workflows').exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : EXIT.badInput));
registerDev(program);
registerRun(program);
registerRuns(program);
registerRetrain(program);
registerMerge(program);
registerForget(program);
registerWorker(program);
registerReport(program);
registerMetrics(program);
registerExport(program);
registerSchedule(program);
registerServe(program);
registerDoctor(program);

await program.parseAsync();

#!/usr/bin/env node
/** The `lightpath` command: one file per subcommand under cli/commands/. */
import { Command } from 'commander';
import { registerDev } from './commands/dev.js';
import { registerRun } from './commands/run.js';
import { registerRetrain } from './commands/retrain.js';
import { registerMerge } from './commands/merge.js';
import { registerWorker } from './commands/worker.js';
import { registerReport } from './commands/report.js';
import { registerMetrics } from './commands/metrics.js';
import { registerExport } from './commands/export.js';
import { registerRuns } from './commands/runs.js';
import { registerSchedule } from './commands/schedule.js';
import { registerServe } from './commands/serve.js';
import { registerDoctor } from './commands/doctor.js';

const program = new Command('lightpath').description('Deep-learning training pipelines as durable Temporal workflows');
registerDev(program);
registerRun(program);
registerRuns(program);
registerRetrain(program);
registerMerge(program);
registerWorker(program);
registerReport(program);
registerMetrics(program);
registerExport(program);
registerSchedule(program);
registerServe(program);
registerDoctor(program);

await program.parseAsync();

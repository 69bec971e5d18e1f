/**
 * The one-shot jobs the command line runs, as the composition root offers them: each takes its
 * inputs and settings and needs no wiring beyond what it opens itself (files), so these are the
 * jobs' own functions, named here so that the CLI depends on the app alone.
 */
export { runBootstrap, type BootstrapRunOptions, type BootstrapSummary } from '../services/jobs/bootstrap.js';
export { runSimulate, type SimulateOptions, type SimulateSummary } from '../services/jobs/simulate.js';
export { runPipeline, PipelineStep, type PipelineSummary, type ProgressSink, type CompactEvaluation } from '../services/jobs/pipeline.js';

// The child process that parses and checks one big config file at start-up
// (load-file.ts forks it; the job and answer are those of parse-worker.ts, sent
// over IPC with structured cloning). The YAML parse of a 1.4 MB, 10,000-route
// file peaks at ≈ 200 MB of V8 heap; in the gateway's own process V8 keeps
// those pages pooled and RSS stays ≈ 230 MB higher for the life of the
// process. A worker thread does not help (its pages go to the same pool);
// a process that exits gives them back (issue 10, memory per route).
import { answer, type ParseJob } from './parse-worker.ts';

process.once('message', (job: ParseJob) => {
  process.send!(answer(job), () => process.exit(0));
});
// The gateway went away before asking: nothing to answer.
process.once('disconnect', () => process.exit(0));

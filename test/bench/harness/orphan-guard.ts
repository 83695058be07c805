/**
 * Preloaded into every role process a benchmark starts (`--import`): the process ends itself once
 * the benchmark that started it is gone. A benchmark that crashes (out of heap, say) would
 * otherwise leave its roles running, still consuming CPU and Redis, beside the next benchmark.
 */
const parent = process.ppid;
setInterval(() => {
  // an orphan is re-parented (to init or a subreaper): its parent id changes
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
}, 1000).unref();

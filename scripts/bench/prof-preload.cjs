// Optional profiling aid for the daemon suites (not used by default). Run e.g.
//   BENCH_DAEMON_NODE_OPTIONS="--require $PWD/scripts/bench/prof-preload.cjs" BENCH_PROF_DIR=/tmp/prof \
//     node scripts/bench/run.mjs daemon-throughput
// The queen gets it through NODE_OPTIONS, and its hive and bees inherit it (--cpu-prof itself is not
// allowed in NODE_OPTIONS). Each process CPU-profiles itself with the inspector and writes
// <BENCH_PROF_DIR>/<queen|hive|beeN>-<pid>.cpuprofile when it exits (bees: in 5 s chunks, see
// below). Sampling profiles attribute wall time (a descheduled thread is still sampled), so on a
// busy 2-core box prefer `perf record` with BENCH_DAEMON_NODE_OPTIONS=--perf-basic-prof for
// on-CPU numbers.
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');

const { isMainThread } = require('node:worker_threads');

const dir = process.env.BENCH_PROF_DIR;
// Main threads only: --require also runs in worker threads (a bee's orphan watchdog is one).
if (dir && isMainThread) {
  const isBee = process.env.APIARY_BEE_ID !== undefined;
  const role = process.env.APIARY_BEE_ID !== undefined ? `bee${process.env.APIARY_BEE_ID}` : path.basename(process.argv[1] || 'node').replace(/\..*$/, '');
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_PROF_INTERVAL_US || 1000) });
  session.post('Profiler.start');
  let chunk = 0;
  let done = false;
  // The main-thread session answers synchronously, so this also works inside 'exit'.
  const write = (restart) => {
    session.post('Profiler.stop', (err, r) => {
      if (err) return;
      fs.mkdirSync(dir, { recursive: true });
      const suffix = isBee ? `-${++chunk}` : '';
      fs.writeFileSync(path.join(dir, `${role}-${process.pid}${suffix}.cpuprofile`), JSON.stringify(r.profile));
    });
    if (restart) session.post('Profiler.start');
  };
  process.on('exit', () => {
    if (done) return;
    done = true;
    write(false);
  });
  if (isBee) {
    // A hive stops its bees with SIGTERM and SIGKILLs them right after: a bee may not live to 'exit',
    // so it also writes what it has every 5 s (<role>-<pid>-<n>.cpuprofile; merge the chunks).
    setInterval(() => !done && write(true), 5000).unref();
    process.on('SIGTERM', () => process.exit(0));
  }
}

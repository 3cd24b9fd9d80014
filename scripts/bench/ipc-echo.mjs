// Child side of the raw IPC baseline (daemon-throughput, daemon-latency): started with an IPC
// channel and the serialization a hive uses for its bees (BEE_IPC_SERIALIZATION), it answers every
// `run` message (and each task of a `runs`) with a `result` shaped like a bee's, and does nothing else. It exits when its
// parent disconnects, or on a `{type:'exit'}` message.

if (!process.send) {
  process.stderr.write('ipc-echo: needs an IPC channel (start it with fork / stdio "ipc")\n');
  process.exit(2);
}
process.on('message', (m) => {
  if (m?.type === 'exit') {
    process.disconnect();
    return;
  }
  // A bee pipeline's `runs`: one result per task, each sent on its own (as a bee does).
  for (const t of m?.type === 'runs' ? m.tasks : [m]) process.send({ type: 'result', taskId: t.taskId, value: { kind: 'js', value: t.spec?.args?.i ?? null } });
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready', pid: process.pid });

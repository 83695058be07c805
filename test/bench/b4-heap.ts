/**
 * B4's heap probe: preloaded into an orchestrator role process (`node --expose-gc --import tsx
 * --import ./test/bench/b4-heap.ts main.ts`); answers the parent's `heap` message over IPC with
 * the heap used after a full collection, so the parent can take the process's heap growth per
 * call without touching the role's code.
 */
process.on('message', (message: { type?: string; id?: number }) => {
  if (message?.type !== 'heap') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  process.send?.({ type: 'heap', id: message.id, used: process.memoryUsage().heapUsed, gc: !!gc });
});
// the IPC channel must not keep a draining process alive
process.channel?.unref();

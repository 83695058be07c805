/**
 * B4's peer, a process of its own: the usual in-memory design, one live XState actor of the
 * same call machine per call, driven to 'established' with a roster of three, plus the keep-alive
 * timer such a design holds per call (a `setInterval`). Prints `{ calls, heapPerCall }` as JSON:
 * the heap used after a full collection, with the actors alive, minus the heap before, per call.
 * Run with `node --expose-gc --import tsx`; argv[2] = number of calls.
 */
import { createActor, type Actor } from 'xstate';
import { callMachine } from '../../machines/call.js';
import { incoming, participant } from '../helpers/call-events.js';

const gc = (globalThis as { gc?: () => void }).gc;
const heap = () => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};

const calls = Math.min(100_000, Math.max(1, Number(process.argv[2] ?? 1000)));
const before = heap();
const held: Actor<typeof callMachine>[] = [];
const timers: NodeJS.Timeout[] = [];
for (let i = 0; i < calls; i += 1) {
  const callId = `peer-${i}-${'x'.repeat(28)}`;
  const actor = createActor(callMachine).start();
  const at = Date.now();
  actor.send({ ...incoming(callId, at), invite: { callId, tenantId: 't1', kind: 'p2p' } });
  actor.send({ type: 'GRAPH.ANSWER_ACCEPTED', at: at + 20, attempts: 1 });
  actor.send({ type: 'CALL.ESTABLISHING', at: at + 50 });
  actor.send({ type: 'CALL.ESTABLISHED', at: at + 80 });
  const roster = [participant(`a-${i}`, 1), participant(`b-${i}`, 2), participant(`bot-${i}`, 3)];
  actor.send({ type: 'CALL.ROSTER', at: at + 90, update: { mode: 'full', participants: roster } });
  held.push(actor);
  timers.push(setInterval(() => undefined, 15 * 60_000));
}
const after = heap();
const state = JSON.stringify(held[0]?.getSnapshot().value);
process.stdout.write(
  `${JSON.stringify({ calls, heapPerCall: (after - before) / calls, gc: !!gc, state })}\n`,
);
for (const t of timers) clearInterval(t);
for (const a of held) a.stop();

/**
 * The console's diagram model is built from the machine definition the operator API serves
 * (xstate's `machine.definition`, as JSON): every state of the real call machine is there, the
 * edges carry their events, and recorded steps find their edges, also when the transition is
 * declared on a parent state. Malformed definitions fail clearly or are bounded.
 */
import { describe, expect, it } from 'vitest';
import { callMachine } from '../../machines/call.js';
import {
  ancestry,
  buildMachineGraph,
  edgeForStep,
  stateByPath,
} from '../../src/console/machine-graph.js';

const served = () => JSON.parse(JSON.stringify(callMachine.definition)) as unknown;

/** Every state path of the machine, walked from the machine itself (not from the JSON). */
function statePaths(): string[] {
  const paths: string[] = [];
  const walk = (node: { states: Record<string, unknown> }, prefix: string) => {
    for (const [key, child] of Object.entries(node.states)) {
      const path = prefix ? `${prefix}.${key}` : key;
      paths.push(path);
      walk(child as { states: Record<string, unknown> }, path);
    }
  };
  walk(callMachine.root, '');
  return paths;
}

describe('machine graph for the console', () => {
  const graph = buildMachineGraph(served());

  it('has every state of the call machine, nested as in the machine', () => {
    const paths = [...graph.states.values()].map((s) => s.path).sort();
    expect(paths).toEqual(statePaths().sort());
    expect(graph.root.id).toBe(callMachine.id);
    const live = stateByPath(graph, 'live');
    expect(live?.type).toBe('compound');
    expect(live?.children.map((c) => c.key)).toContain('established');
    expect(stateByPath(graph, 'terminated')?.type).toBe('final');
    expect(stateByPath(graph, 'live.established.recording')?.id).toBe(
      `${callMachine.id}.live.established.recording`,
    );
  });

  it('draws edges with the events that take them', () => {
    const edge = (from: string, to: string) =>
      graph.edges.find(
        (e) => e.source === stateByPath(graph, from)?.id && e.target === stateByPath(graph, to)?.id,
      );
    expect(edge('idle', 'incoming')?.events).toEqual(['CALL.INCOMING']);
    expect(edge('answering', 'failed')?.events).toEqual(
      expect.arrayContaining(['GRAPH.ANSWER_FAILED', 'TIMER.ANSWER_DEADLINE']),
    );
    expect(edge('live', 'terminated')?.events).toContain('CALL.TERMINATED');
    // one edge per pair of states, no self-loops
    const pairs = graph.edges.map((e) => `${e.source}>${e.target}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    for (const e of graph.edges) expect(e.source).not.toBe(e.target);
  });

  it('finds the edge of a recorded step, from the state that declares it', () => {
    // CALL.TERMINATED is declared on `live`: a step from deep inside it uses that edge
    const step = edgeForStep(graph, 'live.established.recording', 'terminated');
    expect(step?.source).toBe(stateByPath(graph, 'live')?.id);
    expect(step?.events).toContain('CALL.TERMINATED');
    expect(ancestry(graph, 'live.established.recording')).toHaveLength(3);
    expect(edgeForStep(graph, 'nowhere', 'terminated')).toBeUndefined();
    // one commit through an eventless state (idle → incoming → answering): the event's edge
    expect(edgeForStep(graph, 'idle', 'answering')).toBeUndefined();
    const invite = edgeForStep(graph, 'idle', 'answering', 'CALL.INCOMING');
    expect(invite?.target).toBe(stateByPath(graph, 'incoming')?.id);
  });

  it('refuses a definition without an id and bounds hostile ones', () => {
    expect(() => buildMachineGraph(null)).toThrow('the machine definition has no id');
    expect(() => buildMachineGraph({ states: {} })).toThrow('no id');
    const odd = buildMachineGraph({ id: 'm', states: { a: 5, b: { on: { X: [{ target: 7 }] } } } });
    expect([...odd.states.keys()]).toEqual(['m.b']);
    expect(odd.edges).toEqual([]);
    const wide = {
      id: 'w',
      states: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`s${i}`, {}])),
    };
    expect(buildMachineGraph(wide).states.size).toBeLessThanOrEqual(500);
  });
});

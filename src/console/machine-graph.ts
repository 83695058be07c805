/**
 * The machine definition served by `/admin/api/machine` (xstate's `machine.definition` as JSON)
 * turned into the nodes and edges the diagram lays out. Pure and DOM-free: whatever the
 * definition holds is drawn, nothing is hand-kept here. Unknown or malformed parts are skipped,
 * never fatal; sizes are bounded.
 */

export interface StateNode {
  /** xstate's id, e.g. `call.live.established.recording`. */
  id: string;
  key: string;
  /** Dotted path below the root, as the API names states: `live.established.recording`. */
  path: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  initial?: string;
  children: StateNode[];
}

export interface Edge {
  id: string;
  source: string;
  target: string;
  /** Event types that take this edge (`always` for eventless transitions). */
  events: string[];
}

export interface MachineGraph {
  root: StateNode;
  /** Every state but the root, by id. */
  states: Map<string, StateNode>;
  edges: Edge[];
}

const MAX_STATES = 500;
const MAX_EDGES = 2000;
const TYPES = new Set(['atomic', 'compound', 'parallel', 'final', 'history']);

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function buildMachineGraph(definition: unknown): MachineGraph {
  if (!isObject(definition) || !str(definition.id)) {
    throw new Error('the machine definition has no id');
  }
  const rootId = str(definition.id)!;
  const states = new Map<string, StateNode>();
  const raw = new Map<string, Json>();

  const visit = (node: Json, path: string): StateNode => {
    const id = str(node.id) ?? (path ? `${rootId}.${path}` : rootId);
    const type = str(node.type) ?? 'atomic';
    const children: StateNode[] = [];
    const state: StateNode = {
      id,
      key: str(node.key) ?? id,
      path,
      type: (TYPES.has(type) ? type : 'atomic') as StateNode['type'],
      children,
    };
    const initialTarget = isObject(node.initial) ? node.initial.target : undefined;
    const first: unknown = Array.isArray(initialTarget) ? initialTarget[0] : undefined;
    const initialId = isObject(first) ? str(first.id) : str(first)?.replace(/^#/, '');
    if (initialId) state.initial = initialId;
    if (path) {
      states.set(id, state);
      raw.set(id, node);
    }
    if (isObject(node.states)) {
      for (const [key, child] of Object.entries(node.states)) {
        if (!isObject(child) || states.size >= MAX_STATES) continue;
        children.push(visit(child, path ? `${path}.${key}` : key));
      }
    }
    return state;
  };
  const root = visit(definition, '');
  raw.set(root.id, definition);

  const byPair = new Map<string, Edge>();
  const add = (source: string, targetRef: unknown, event: string) => {
    const target = targetId(targetRef);
    if (!target || target === source || !states.has(target)) return;
    if (source !== root.id && !states.has(source)) return;
    const pair = `${source}->${target}`;
    let edge = byPair.get(pair);
    if (!edge) {
      if (byPair.size >= MAX_EDGES) return;
      edge = { id: `e${byPair.size}`, source, target, events: [] };
      byPair.set(pair, edge);
    }
    if (!edge.events.includes(event)) edge.events.push(event);
  };
  for (const [id, node] of raw) {
    const transitions: Json[] = [
      ...listOf(node.transitions),
      ...Object.values(isObject(node.on) ? node.on : {}).flatMap(listOf),
      ...listOf(node.always).map((t): Json => ({ ...t, eventType: str(t.eventType) || 'always' })),
    ];
    for (const t of transitions) {
      const event = str(t.eventType) || str(t.event) || 'always';
      const targets = Array.isArray(t.target) ? t.target : [t.target];
      for (const target of targets) add(id, target, event);
    }
  }
  return { root, states, edges: [...byPair.values()] };
}

const listOf = (v: unknown): Json[] =>
  Array.isArray(v) ? v.filter(isObject) : isObject(v) ? [v] : [];

/** `#call.live` → `call.live`; a state node object → its id. */
function targetId(ref: unknown): string | undefined {
  if (isObject(ref)) return str(ref.id);
  const s = str(ref);
  return s?.startsWith('#') ? s.slice(1) : s;
}

/** The state node a dotted API state name (`live.established.recording`) refers to. */
export function stateByPath(graph: MachineGraph, path: string): StateNode | undefined {
  return graph.states.get(`${graph.root.id}.${path}`) ?? graph.states.get(path);
}

/** The ids of a state and every state above it (below the root). */
export function ancestry(graph: MachineGraph, path: string): string[] {
  const ids: string[] = [];
  const parts = path.split('.');
  for (let i = 1; i <= parts.length; i += 1) {
    const node = stateByPath(graph, parts.slice(0, i).join('.'));
    if (node) ids.push(node.id);
  }
  return ids;
}

/**
 * The edge drawn for a recorded step: the innermost pair of (a source at or above `from`, a
 * target at or above `to`) that the definition has an edge for; a transition declared on a
 * parent state (`live` → `terminated`) is drawn from that parent. A step that went on through
 * eventless transitions (`idle` → `incoming` → `answering` in one commit; xstate's definition
 * does not list `always` transitions) is drawn as the edge its event took out of `from`.
 */
export function edgeForStep(
  graph: MachineGraph,
  from: string,
  to: string,
  event?: string,
): Edge | undefined {
  const sources = ancestry(graph, from).reverse();
  const targets = ancestry(graph, to).reverse();
  for (const s of sources) {
    for (const t of targets) {
      const edge = graph.edges.find((e) => e.source === s && e.target === t);
      if (edge) return edge;
    }
  }
  if (event === undefined) return undefined;
  for (const s of sources) {
    const edge = graph.edges.find((e) => e.source === s && e.events.includes(event));
    if (edge) return edge;
  }
  return undefined;
}

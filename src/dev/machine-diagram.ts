/**
 * The call machine as a Mermaid state diagram, generated from its definition so it cannot drift:
 * `npm run diagram` writes docs/call-machine.md, and a test fails when the committed file is
 * stale.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { toDirectedGraph, type DirectedGraphNode } from 'xstate/graph';
import { callMachine } from '../../machines/call.js';

type AnyNode = DirectedGraphNode['stateNode'];
const idOf = (node: AnyNode): string => node.path.join('_') || 'root';

function renderNode(graph: DirectedGraphNode, depth: number, lines: string[]): void {
  const pad = '  '.repeat(depth);
  const node = graph.stateNode;
  if (graph.children.length > 0) {
    lines.push(`${pad}state "${node.key}" as ${idOf(node)} {`);
    if (node.initial?.target[0])
      lines.push(`${pad}  [*] --> ${idOf(node.initial.target[0] as AnyNode)}`);
    for (const child of graph.children) renderNode(child, depth + 1, lines);
    lines.push(`${pad}}`);
  } else {
    lines.push(`${pad}state "${node.key}" as ${idOf(node)}`);
    if (node.type === 'final') lines.push(`${pad}${idOf(node)} --> [*]`);
  }
}

const guardOf = (t: { guard?: unknown }): string => {
  const g = t.guard as { type?: string } | string | undefined;
  const name = typeof g === 'string' ? g : g?.type;
  return name ? ` [${name}]` : '';
};

function renderEdges(graph: DirectedGraphNode, lines: string[]): void {
  for (const edge of graph.edges) {
    // context-only transitions (no target) would be self-loops: left out to keep it readable
    if (!edge.transition.target?.length) continue;
    lines.push(
      `  ${idOf(edge.source)} --> ${idOf(edge.target)}: ${edge.label.text}${guardOf(edge.transition)}`,
    );
  }
  for (const t of graph.stateNode.always ?? []) {
    for (const target of t.target ?? []) {
      lines.push(
        `  ${idOf(graph.stateNode)} --> ${idOf(target as AnyNode)}: (at once)${guardOf(t)}`,
      );
    }
  }
  for (const child of graph.children) renderEdges(child, lines);
}

export function callMachineMermaid(): string {
  const graph = toDirectedGraph(callMachine);
  const lines = [
    'stateDiagram-v2',
    `  [*] --> ${idOf(callMachine.root.initial.target[0] as AnyNode)}`,
  ];
  for (const child of graph.children) renderNode(child, 1, lines);
  renderEdges(graph, lines);
  return lines.join('\n');
}

export function callMachineDoc(): string {
  return [
    '# The call machine',
    '',
    'Generated from `machines/call.ts` by `npm run diagram`; the tests fail when this file is stale.',
    'Transitions that only update context (roster, keep-alive bookkeeping, late results) are',
    'left out; guards are shown in brackets; `(at once)` marks an eventless transition.',
    '',
    '```mermaid',
    callMachineMermaid(),
    '```',
    '',
  ].join('\n');
}

const target = fileURLToPath(new URL('../../docs/call-machine.md', import.meta.url));
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(target, callMachineDoc());
  console.log(`wrote ${target}`);
}

/**
 * The call machine drawn as SVG from its definition: ELK's layered layout
 * (https://eclipse.dev/elk/reference/algorithms/org-eclipse-elk-layered.html) places nested
 * states inside their parents; the layout is computed once per machine, highlights change by
 * class only. Edge labels are shown for the path taken; every edge has a tooltip with its events.
 */
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import {
  ancestry,
  edgeForStep,
  stateByPath,
  type MachineGraph,
  type StateNode,
} from './machine-graph.js';

const SVG = 'http://www.w3.org/2000/svg';
const LABEL_PX = 7.2;
const NODE_H = 28;
const HEADER_H = 24;

export interface DiagramStep {
  from: string;
  to: string;
  event: string;
}

export interface Diagram {
  readonly element: SVGSVGElement;
  /** Marks the path of `steps[0..upTo]`, the state after `steps[upTo]` as current. */
  show(steps: DiagramStep[], upTo: number, fallbackState?: string): void;
  /** Scrolls the diagram's box so the current state is in view. */
  reveal(): void;
}

export async function drawDiagram(graph: MachineGraph): Promise<Diagram> {
  const { default: ELK } = await import('elkjs/lib/elk.bundled.js');
  const elk = new ELK();
  const toElk = (node: StateNode): ElkNode => {
    const width = Math.max(64, node.key.length * LABEL_PX + 24);
    if (node.children.length === 0) return { id: node.id, width, height: NODE_H };
    return {
      id: node.id,
      layoutOptions: {
        'elk.padding': `[top=${HEADER_H + 8},left=12,bottom=12,right=12]`,
        'elk.nodeSize.minimum': `(${width + 24}, ${HEADER_H + 20})`,
      },
      children: node.children.map(toElk),
    };
  };
  const edges: ElkExtendedEdge[] = graph.edges.map((e) => ({
    id: e.id,
    sources: [e.source],
    targets: [e.target],
  }));
  const laid: ElkNode = await elk.layout({
    id: graph.root.id,
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.json.edgeCoords': 'ROOT',
      'elk.layered.spacing.nodeNodeBetweenLayers': '28',
      'elk.spacing.nodeNode': '14',
      'elk.spacing.edgeNode': '8',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.padding': '[top=8,left=8,bottom=8,right=8]',
    },
    children: graph.root.children.map(toElk),
    edges,
  });

  const svg = document.createElementNS(SVG, 'svg');
  const width = Math.ceil(laid.width ?? 800);
  const height = Math.ceil(laid.height ?? 400);
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  // natural size at most: scaled down to the panel's width, never up
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('class', 'machine');
  svg.setAttribute('role', 'img');
  svg.innerHTML = `<defs>
    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrow"/></marker>
    <marker id="arrow-taken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrow-taken"/></marker>
  </defs>`;
  const make = <K extends keyof SVGElementTagNameMap>(
    tag: K,
    attrs: Record<string, string | number>,
    parent: Element,
  ): SVGElementTagNameMap[K] => {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    parent.appendChild(el);
    return el;
  };

  const nodeEls = new Map<string, SVGGElement>();
  const nodesLayer = make('g', { class: 'nodes' }, svg);
  const drawNode = (n: ElkNode, ox: number, oy: number) => {
    const state = graph.states.get(n.id);
    const x = ox + (n.x ?? 0);
    const y = oy + (n.y ?? 0);
    if (state) {
      const compound = state.children.length > 0;
      const g = make(
        'g',
        { class: `state ${compound ? 'compound' : 'leaf'} ${state.type}` },
        nodesLayer,
      );
      g.dataset.state = state.path;
      make('title', {}, g).textContent = state.path;
      const w = n.width ?? 0;
      const h = n.height ?? 0;
      make('rect', { x, y, width: w, height: h, rx: compound ? 8 : 12 }, g);
      if (state.type === 'final') {
        make('rect', { x: x + 3, y: y + 3, width: w - 6, height: h - 6, rx: 9, class: 'inner' }, g);
      }
      const label = make(
        'text',
        compound
          ? { x: x + 10, y: y + 16 }
          : { x: x + w / 2, y: y + h / 2 + 4, 'text-anchor': 'middle' },
        g,
      );
      label.textContent = state.key;
      nodeEls.set(state.id, g);
    }
    for (const c of n.children ?? []) drawNode(c, x, y);
  };
  for (const c of laid.children ?? []) drawNode(c, 0, 0);

  const edgesLayer = make('g', { class: 'edges' }, svg);
  const edgeEls = new Map<string, { path: SVGPathElement; label: SVGTextElement }>();
  for (const e of laid.edges ?? []) {
    const section = e.sections?.[0];
    const model = graph.edges.find((m) => m.id === e.id);
    if (!section || !model) continue;
    const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint];
    const g = make('g', { class: 'edge' }, edgesLayer);
    make('title', {}, g).textContent = model.events.join(', ');
    const path = make(
      'path',
      {
        d: points.map((p, i) => `${i ? 'L' : 'M'}${p.x},${p.y}`).join(' '),
        'marker-end': 'url(#arrow)',
      },
      g,
    );
    const mid = points[Math.floor((points.length - 1) / 2)]!;
    const next = points[Math.floor((points.length - 1) / 2) + 1] ?? mid;
    const label = make(
      'text',
      {
        x: (mid.x + next.x) / 2,
        y: (mid.y + next.y) / 2 - 4,
        'text-anchor': 'middle',
        class: 'edge-label',
      },
      g,
    );
    edgeEls.set(model.id, { path, label });
  }
  // edges under the nodes' labels would hide them: nodes' text goes on top
  svg.appendChild(nodesLayer);
  svg.appendChild(edgesLayer);

  const stateOf = (id: string) => graph.states.get(id)?.path ?? '';
  return {
    element: svg,
    reveal() {
      const current = svg.querySelector('.state.current');
      const box = svg.parentElement;
      if (!current || !box) return;
      const r = current.getBoundingClientRect();
      const b = box.getBoundingClientRect();
      if (r.top < b.top + 8 || r.bottom > b.bottom - 40)
        box.scrollTop += r.top - b.top - (b.height - r.height) / 2;
      if (r.left < b.left || r.right > b.right)
        box.scrollLeft += r.left - b.left - (b.width - r.width) / 2;
    },
    show(steps, upTo, fallbackState) {
      for (const g of nodeEls.values()) g.classList.remove('visited', 'current', 'current-parent');
      for (const { path, label } of edgeEls.values()) {
        path.parentElement?.classList.remove('taken', 'step');
        path.setAttribute('marker-end', 'url(#arrow)');
        label.textContent = '';
      }
      const shown = steps.slice(0, upTo + 1);
      const current = shown.at(-1)?.to ?? fallbackState;
      for (const step of shown) {
        for (const id of [...ancestry(graph, step.from), ...ancestry(graph, step.to)])
          nodeEls.get(id)?.classList.add('visited');
        const edge = edgeForStep(graph, step.from, step.to, step.event);
        if (edge)
          for (const id of ancestry(graph, stateOf(edge.target)))
            nodeEls.get(id)?.classList.add('visited');
        const drawn = edge && edgeEls.get(edge.id);
        if (!drawn) continue;
        drawn.path.parentElement?.classList.add('taken');
        drawn.path.setAttribute('marker-end', 'url(#arrow-taken)');
        drawn.label.textContent = step.event;
      }
      const last = shown.at(-1);
      const lastEdge = last && edgeForStep(graph, last.from, last.to, last.event);
      if (lastEdge) edgeEls.get(lastEdge.id)?.path.parentElement?.classList.add('step');
      if (current) {
        for (const id of ancestry(graph, current)) nodeEls.get(id)?.classList.add('current-parent');
        const node = stateByPath(graph, current);
        if (node) {
          const g = nodeEls.get(node.id);
          g?.classList.remove('current-parent');
          g?.classList.add('current');
        }
      }
      svg.setAttribute(
        'aria-label',
        current
          ? `State machine diagram. ${shown.length} of ${steps.length} steps shown; state ${current}.`
          : 'State machine diagram.',
      );
    },
  };
}

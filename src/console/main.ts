/**
 * The operator console: sign in with the admin token (kept in sessionStorage only, sent as an
 * Authorization header), a live table of calls (the list from `/admin/api/calls`, updates from
 * the `/admin/api/events` stream) and one call's detail with its state machine drawn from
 * `/admin/api/machine`. See docs/console.md.
 */
import './styles.css';
import { API_BASE, ApiError, createApi, type Api } from './api.js';
import type { CallDetail, CallSummary, ConsoleConfig, TransitionEvent } from './api-types.js';
import { drawDiagram, type Diagram } from './diagram.js';
import { renderDetail } from './detail-view.js';
import { byId, h } from './dom.js';
import { clock, shortId } from './format.js';
import { buildMachineGraph, type MachineGraph, type StateNode } from './machine-graph.js';
import { followStream, type StreamStatus } from './sse.js';

const TOKEN_KEY = 'cr-orchestrator.admin-token';
const MAX_CALLS = 500;

interface Session {
  api: Api;
  token: string;
  stream: AbortController;
  config: ConsoleConfig | undefined;
  graph: MachineGraph | undefined;
  diagram: Diagram | undefined;
  diagramError: string | undefined;
  calls: Map<string, CallSummary>;
  selected: string | undefined;
  detail: CallDetail | undefined;
  step: number;
  /** Follow new steps of the selected call while the last step is shown. */
  following: boolean;
}

let session: Session | undefined;

const ui = {
  signIn: byId<HTMLElement>('sign-in'),
  signInForm: byId<HTMLFormElement>('sign-in-form'),
  token: byId<HTMLInputElement>('token'),
  signInError: byId<HTMLElement>('sign-in-error'),
  signOut: byId<HTMLButtonElement>('sign-out'),
  workspace: byId<HTMLElement>('workspace'),
  status: byId<HTMLElement>('stream-status'),
  filterState: byId<HTMLSelectElement>('filter-state'),
  filterFailed: byId<HTMLInputElement>('filter-failed'),
  callsBody: byId<HTMLElement>('calls-body'),
  callsEmpty: byId<HTMLElement>('calls-empty'),
  callsError: byId<HTMLElement>('calls-error'),
  callsMore: byId<HTMLElement>('calls-more'),
  detailTitle: byId<HTMLElement>('detail-title'),
  detailHint: byId<HTMLElement>('detail-hint'),
  detailBody: byId<HTMLElement>('detail-body'),
  announce: byId<HTMLElement>('announce'),
};

const message = (error: unknown) =>
  error instanceof ApiError ? error.message : 'Something went wrong; see the browser console.';

// ---- sign in / out ----

ui.signInForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = ui.token.value.trim();
  ui.token.value = '';
  if (!token) return;
  ui.signInError.textContent = '';
  const probe = createApi(token, () => undefined);
  probe.config().then(
    () => {
      sessionStorage.setItem(TOKEN_KEY, token);
      start(token);
    },
    (error: unknown) => {
      ui.signInError.textContent =
        error instanceof ApiError && error.status === 401
          ? 'That token was refused.'
          : message(error);
      ui.token.focus();
    },
  );
});

ui.signOut.addEventListener('click', () => signOut());

function signOut(reason = ''): void {
  session?.stream.abort();
  session = undefined;
  sessionStorage.removeItem(TOKEN_KEY);
  ui.workspace.hidden = true;
  ui.signOut.hidden = true;
  ui.status.hidden = true;
  ui.callsBody.replaceChildren();
  ui.detailBody.replaceChildren();
  ui.signIn.hidden = false;
  ui.signInError.textContent = reason;
  ui.token.focus();
}

function start(token: string): void {
  session?.stream.abort();
  const s: Session = {
    api: createApi(token, () => signOut('The admin token was refused; sign in again.')),
    token,
    stream: new AbortController(),
    config: undefined,
    graph: undefined,
    diagram: undefined,
    diagramError: undefined,
    calls: new Map(),
    selected: undefined,
    detail: undefined,
    step: 0,
    following: true,
  };
  session = s;
  ui.signIn.hidden = true;
  ui.workspace.hidden = false;
  ui.signOut.hidden = false;
  ui.status.hidden = false;
  ui.detailTitle.textContent = 'No call selected';
  ui.detailHint.hidden = false;
  ui.detailBody.hidden = true;
  s.api.config().then(
    (config) => {
      s.config = config;
      if (s.detail) showDetail();
    },
    () => undefined,
  );
  s.api
    .machine()
    .then(async (machine) => {
      s.graph = buildMachineGraph(machine.definition);
      fillStateFilter(s.graph);
      s.diagram = await drawDiagram(s.graph);
    })
    .catch((error: unknown) => {
      s.diagramError = `The state machine cannot be drawn: ${error instanceof Error ? error.message : String(error)}`;
    })
    .finally(() => session === s && s.detail && showDetail());
  void loadCalls();
  void followStream({
    url: `${API_BASE}/events`,
    token,
    signal: s.stream.signal,
    onStatus: showStatus,
    onUnauthorized: () => signOut('The admin token was refused; sign in again.'),
    onReset: () => resync(),
    onMessage: (m) => {
      // older events were dropped from the feed before we read them: read the state again
      if (m.event === 'truncated') return resync();
      if (m.event !== 'transition') return;
      try {
        onTransition(JSON.parse(m.data) as TransitionEvent);
      } catch {
        // a malformed message is skipped; the next list refresh corrects the table
      }
    },
  });
}

function showStatus(status: StreamStatus): void {
  const words: Record<StreamStatus, string> = {
    connecting: 'Connecting to live updates…',
    live: 'Live',
    reconnecting: 'Live updates interrupted; reconnecting…',
    stopped: 'Live updates stopped',
  };
  ui.status.textContent = words[status];
  ui.status.className = `stream ${status}`;
}

// ---- the calls table ----

function fillStateFilter(graph: MachineGraph): void {
  const options: HTMLOptionElement[] = [h('option', { value: '' }, 'any')];
  const walk = (node: StateNode, depth: number) => {
    for (const c of node.children) {
      options.push(h('option', { value: c.path }, `${'\u00a0\u00a0'.repeat(depth)}${c.key}`));
      walk(c, depth + 1);
    }
  };
  walk(graph.root, 0);
  const current = ui.filterState.value;
  ui.filterState.replaceChildren(...options);
  ui.filterState.value = current;
}

ui.filterState.addEventListener('change', () => void loadCalls());
ui.filterFailed.addEventListener('change', () => void loadCalls());
document.getElementById('filters')?.addEventListener('submit', (ev) => ev.preventDefault());

const matches = (call: CallSummary): boolean => {
  const state = ui.filterState.value;
  if (state && call.state !== state && !call.state.startsWith(`${state}.`)) return false;
  return !ui.filterFailed.checked || call.failed;
};

async function loadCalls(): Promise<void> {
  const s = session;
  if (!s) return;
  try {
    const page = await s.api.calls({
      state: ui.filterState.value || undefined,
      failed: ui.filterFailed.checked,
      limit: 200,
    });
    if (session !== s) return;
    s.calls = new Map(page.calls.slice(0, MAX_CALLS).map((c) => [c.callId, c]));
    ui.callsError.textContent = '';
    ui.callsMore.hidden = page.nextCursor === undefined;
    renderCalls();
  } catch (error) {
    if (session === s) ui.callsError.textContent = message(error);
  }
}

/**
 * Runs `task` once, `ms` after the first of any number of calls: under a steady stream of events
 * it still runs (a debounce never would), at most once per `ms`, which keeps the console well
 * inside the API's per-client rate limit however busy the orchestrator is.
 */
function throttled(task: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      task();
    }, ms);
  };
}

/** The list again, for new calls and ended ones (whose failure is in the summary). */
const reloadSoon = throttled(() => void loadCalls(), 1000);

function renderCalls(fresh?: string): void {
  const s = session;
  if (!s) return;
  const focused = (document.activeElement as HTMLElement | null)?.dataset.callId;
  const rows = [...s.calls.values()]
    .filter(matches)
    .sort((a, b) => b.receivedAt - a.receivedAt)
    .map((call) => {
      const tr = h(
        'tr',
        {
          tabindex: -1,
          'data-call-id': call.callId,
          'aria-current': call.callId === s.selected ? 'true' : undefined,
          class: call.callId === fresh ? 'fresh' : undefined,
        },
        h('td', {}, clock(call.receivedAt)),
        h('td', { class: 'mono', title: call.callId }, shortId(call.callId)),
        h('td', { class: 'state', title: call.state }, call.state.split('.').at(-1) ?? call.state),
        h(
          'td',
          {},
          call.failed
            ? h('span', { class: 'badge failed', title: call.failure?.text }, 'failed')
            : call.live
              ? h('span', { class: 'badge live' }, 'live')
              : h('span', { class: 'badge ok' }, 'ended'),
        ),
      );
      tr.setAttribute(
        'aria-label',
        `Call ${call.callId}, ${call.state}${call.failed ? ', failed' : ''}`,
      );
      return tr;
    });
  // one tab stop for the whole table (the arrow keys move between rows)
  const stop = rows.find((r) => r.dataset.callId === (focused ?? s.selected)) ?? rows[0];
  if (stop) stop.tabIndex = 0;
  ui.callsBody.replaceChildren(...rows);
  ui.callsEmpty.hidden = rows.length > 0;
  if (focused)
    ui.callsBody.querySelector<HTMLElement>(`tr[data-call-id="${CSS.escape(focused)}"]`)?.focus();
}

ui.callsBody.addEventListener('click', (ev) => {
  const row = (ev.target as HTMLElement).closest('tr');
  if (row?.dataset.callId) void select(row.dataset.callId);
});
ui.callsBody.addEventListener('keydown', (ev) => {
  const row = (ev.target as HTMLElement).closest('tr');
  if (!row) return;
  if (ev.key === 'Enter' || ev.key === ' ') {
    ev.preventDefault();
    if (row.dataset.callId) void select(row.dataset.callId);
  } else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
    ev.preventDefault();
    const next = (
      ev.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling
    ) as HTMLElement | null;
    if (!next) return;
    row.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }
});

// ---- live updates ----

function onTransition(ev: TransitionEvent): void {
  const s = session;
  if (!s || typeof ev.callId !== 'string') return;
  const known = s.calls.get(ev.callId);
  if (known) {
    known.state = ev.to;
    known.live = ev.live;
    known.updatedAt = ev.at;
    renderCalls(ev.callId);
  }
  // a new call, or one that ended (its failure is in the summary): ask for the list again
  if (!known || !ev.live) reloadSoon();
  if (ev.callId === s.selected && s.detail) {
    const history = s.detail.history;
    if (!history.some((e) => e.seq === ev.seq)) {
      history.push({
        seq: ev.seq,
        event: ev.event,
        from: ev.from,
        to: ev.to,
        at: ev.at,
        traceId: ev.traceId,
        outcome: ev.outcome,
      });
      history.sort((a, b) => a.seq - b.seq);
      s.detail.state = history.at(-1)?.to ?? s.detail.state;
      s.detail.live = ev.live;
      if (s.following) s.step = history.length - 1;
      showDetail();
    }
    refreshDetailSoon();
  }
}

function resync(): void {
  reloadSoon();
  refreshDetailSoon();
}

/** The open call again, for what events do not carry (participants, tracks, the failure). */
const refreshDetailSoon = throttled(() => {
  const s = session;
  if (s?.selected) void loadDetail(s, s.selected);
}, 1000);

// ---- one call ----

async function select(callId: string): Promise<void> {
  const s = session;
  if (!s) return;
  s.selected = callId;
  s.following = true;
  for (const tr of ui.callsBody.querySelectorAll('tr')) {
    if (tr.dataset.callId === callId) tr.setAttribute('aria-current', 'true');
    else tr.removeAttribute('aria-current');
    tr.tabIndex = tr.dataset.callId === callId ? 0 : -1;
  }
  await loadDetail(s, callId);
}

async function loadDetail(s: Session, callId: string): Promise<void> {
  try {
    const detail = await s.api.call(callId);
    if (session !== s || s.selected !== callId) return;
    detail.history.sort((a, b) => a.seq - b.seq);
    const first = s.detail?.callId !== callId;
    s.detail = detail;
    if (first || s.following) s.step = detail.history.length - 1;
    showDetail();
  } catch (error) {
    if (session !== s) return;
    ui.detailHint.hidden = false;
    ui.detailHint.textContent = message(error);
  }
}

function setStep(index: number): void {
  const s = session;
  if (!s?.detail) return;
  const last = s.detail.history.length - 1;
  s.step = Math.min(Math.max(index, 0), last);
  s.following = s.step === last;
  showDetail();
  const entry = s.detail.history[s.step];
  // one live region that outlives the re-rendered panel, so screen readers hear every step
  if (entry)
    ui.announce.textContent = `Step ${s.step + 1} of ${last + 1}: ${entry.event}, to ${entry.to}`;
}

function showDetail(): void {
  const s = session;
  if (!s?.detail) return;
  const active = document.activeElement as HTMLElement | null;
  const keep = ui.detailBody.contains(active) ? active?.dataset.key : undefined;
  const stepListFocused = keep?.startsWith('step-');
  ui.detailHint.hidden = true;
  ui.detailBody.hidden = false;
  document.body.classList.toggle('failed-call', s.detail.failed);
  renderDetail(ui.detailBody, ui.detailTitle, {
    detail: s.detail,
    step: s.step,
    diagram: s.diagram,
    diagramError: s.diagramError,
    jaegerUiUrl: s.config?.jaegerUiUrl,
    onStep: setStep,
  });
  // focus stays where it was: on the step list it follows the step, a button that just became
  // disabled (first or last step) hands it to its sibling
  const key = stepListFocused ? `step-${s.step}` : keep;
  const find = (k: string) =>
    ui.detailBody.querySelector<HTMLButtonElement>(`[data-key="${CSS.escape(k)}"]`);
  let target = key ? find(key) : null;
  if (target?.disabled) target = find(key === 'prev' ? 'next' : 'prev');
  target?.focus();
}

// ---- start ----

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) start(saved);
else ui.token.focus();

/**
 * One call's detail: why it failed, its facts, the machine diagram with the path taken, the
 * history stepper (buttons, the step list and the arrow keys) and who is on which track.
 */
import type { CallDetail, HistoryEntry } from './api-types.js';
import type { Diagram } from './diagram.js';
import { h } from './dom.js';
import { bytes, dateTime, shortId, sinceInvite, stateLabel } from './format.js';

export interface DetailContext {
  detail: CallDetail;
  /** Index into `detail.history` of the step shown. */
  step: number;
  diagram: Diagram | undefined;
  diagramError: string | undefined;
  /** Base URL of the Jaeger UI, when configured. */
  jaegerUiUrl: string | undefined;
  onStep(index: number): void;
}

/** `href` when it is an absolute http(s) URL (never `javascript:` or the like). */
export function safeHttpUrl(href: string | undefined): string | undefined {
  if (!href) return undefined;
  try {
    const url = new URL(href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** `${jaeger}/trace/${id}` when both are known and the base is http(s). */
export function traceLink(jaegerUiUrl: string | undefined, traceId: string | undefined) {
  if (!jaegerUiUrl || !traceId || !/^[0-9a-f]{16,32}$/i.test(traceId)) return undefined;
  try {
    const base = new URL(jaegerUiUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') return undefined;
    return `${base.href.replace(/\/$/, '')}/trace/${traceId}`;
  } catch {
    return undefined;
  }
}

const external = (href: string, text: string, label: string) =>
  h('a', { href, target: '_blank', rel: 'noopener noreferrer', 'aria-label': label }, text);

export function renderDetail(body: HTMLElement, title: HTMLElement, ctx: DetailContext): void {
  const { detail } = ctx;
  const history = detail.history;
  const invitedAt = detail.receivedAt;
  const step = Math.min(Math.max(ctx.step, 0), Math.max(history.length - 1, 0));
  const entry: HistoryEntry | undefined = history[step];

  title.replaceChildren(
    'Call ',
    h('span', { class: 'mono', title: detail.callId }, shortId(detail.callId)),
  );
  const status = detail.failed
    ? h('span', { class: 'badge failed' }, 'failed')
    : detail.live
      ? h('span', { class: 'badge live' }, 'live')
      : h('span', { class: 'badge ok' }, 'ended');

  const failure =
    detail.failed &&
    h(
      'p',
      { class: 'failure', id: 'failure' },
      h('strong', {}, 'Why it failed:'),
      detail.failure?.text ?? 'The orchestrator did not record a reason.',
    );

  const callTrace = safeHttpUrl(detail.traceUrl) ?? traceLink(ctx.jaegerUiUrl, detail.traceId);
  const facts = h(
    'p',
    { class: 'facts' },
    h('span', {}, 'State ', h('b', {}, stateLabel(detail.state))),
    status,
    h('span', {}, 'Kind ', h('b', {}, detail.kind === 'p2p' ? '1:1' : 'meeting')),
    h(
      'span',
      {},
      'Tenant ',
      h('b', { class: 'mono', title: detail.tenantId }, shortId(detail.tenantId)),
    ),
    h('span', {}, 'Invite ', h('b', {}, dateTime(invitedAt))),
    detail.answeredAt !== undefined &&
      h('span', {}, 'Answered ', h('b', {}, sinceInvite(detail.answeredAt, invitedAt))),
    detail.endedAt !== undefined &&
      h('span', {}, 'Ended ', h('b', {}, sinceInvite(detail.endedAt, invitedAt))),
    callTrace && external(callTrace, 'Trace in Jaeger', 'The call’s trace in Jaeger'),
  );

  const figure = h('figure', { class: 'diagram' });
  const scroller = h('div', { class: 'diagram-scroll' });
  figure.append(scroller);
  if (ctx.diagram) {
    scroller.append(ctx.diagram.element);
    ctx.diagram.show(history, step, detail.state);
  } else {
    scroller.append(h('p', { class: 'error' }, ctx.diagramError ?? 'Drawing the state machine…'));
  }
  figure.append(
    h(
      'figcaption',
      {},
      h(
        'span',
        {},
        h('span', { class: 'key current', 'aria-hidden': 'true' }),
        'state at this step',
      ),
      h('span', {}, h('span', { class: 'key visited', 'aria-hidden': 'true' }), 'visited'),
      h(
        'span',
        {},
        h('span', { class: 'key path', 'aria-hidden': 'true' }),
        'path taken (event named)',
      ),
      h('span', {}, 'drawn from the machine definition the orchestrator runs'),
    ),
  );

  const prev = h(
    'button',
    { type: 'button', 'data-key': 'prev', disabled: step <= 0 },
    '◀ Previous',
  );
  const next = h(
    'button',
    { type: 'button', 'data-key': 'next', disabled: step >= history.length - 1 },
    'Next ▶',
  );
  prev.addEventListener('click', () => ctx.onStep(step - 1));
  next.addEventListener('click', () => ctx.onStep(step + 1));
  const stepTrace = traceLink(ctx.jaegerUiUrl, entry?.traceId);
  const stepper = h(
    'section',
    { class: 'stepper', 'aria-labelledby': 'step-title' },
    h(
      'div',
      { class: 'controls' },
      prev,
      h(
        'span',
        { class: 'position', id: 'step-title' },
        history.length ? `Step ${step + 1} of ${history.length}` : 'No steps recorded yet',
      ),
      next,
    ),
    entry &&
      h(
        'div',
        { class: 'step-now' },
        h(
          'dl',
          {},
          h('dt', {}, 'Event'),
          h('dd', { class: 'mono', id: 'step-event' }, entry.event),
          h('dt', {}, 'From → to'),
          h(
            'dd',
            {},
            `${stateLabel(entry.from)} → `,
            h('b', { id: 'step-to' }, stateLabel(entry.to)),
          ),
          h('dt', {}, 'Since invite'),
          h('dd', { id: 'step-time' }, sinceInvite(entry.at, invitedAt)),
          entry.outcome && h('dt', {}, 'Outcome'),
          entry.outcome && h('dd', {}, entry.outcome),
          h('dt', {}, 'Trace'),
          h(
            'dd',
            {},
            stepTrace
              ? external(stepTrace, 'Open in Jaeger', `Trace of step ${step + 1} in Jaeger`)
              : ctx.jaegerUiUrl
                ? 'none recorded'
                : 'Jaeger not configured',
          ),
        ),
      ),
  );

  const list = h('ol', { class: 'steps', 'aria-label': 'History of the call' });
  history.forEach((e, i) => {
    const b = h(
      'button',
      {
        type: 'button',
        'data-key': `step-${i}`,
        'aria-current': i === step ? 'step' : undefined,
        // one tab stop for the list: the arrow keys move between steps
        tabindex: i === step ? 0 : -1,
      },
      h('span', {}, String(e.seq)),
      h('span', { class: 't' }, sinceInvite(e.at, invitedAt)),
      h('span', { class: 'mono' }, e.event),
    );
    b.setAttribute(
      'aria-label',
      `Step ${i + 1}: ${e.event}, to ${e.to}, ${sinceInvite(e.at, invitedAt)}`,
    );
    b.addEventListener('click', () => ctx.onStep(i));
    list.append(h('li', {}, b));
  });

  const stepKeys = (ev: KeyboardEvent) => {
    const to =
      ev.key === 'ArrowLeft' || ev.key === 'ArrowUp'
        ? step - 1
        : ev.key === 'ArrowRight' || ev.key === 'ArrowDown'
          ? step + 1
          : ev.key === 'Home'
            ? 0
            : ev.key === 'End'
              ? history.length - 1
              : undefined;
    if (to === undefined) return;
    ev.preventDefault();
    ctx.onStep(to);
  };
  stepper.addEventListener('keydown', stepKeys);
  list.addEventListener('keydown', stepKeys);

  body.replaceChildren(
    failure || '',
    facts,
    stepper,
    figure,
    h(
      'div',
      { class: 'below' },
      h(
        'section',
        { 'aria-labelledby': 'steps-title' },
        h('h3', { id: 'steps-title' }, 'History'),
        list,
      ),
      h('div', {}, participantsTable(detail), tracksTable(detail), reportsBlock(detail)),
    ),
  );
  ctx.diagram?.reveal();
  // the step list scrolls itself (not the page) to the step shown
  const current = list.querySelector<HTMLElement>('[aria-current="step"]')?.parentElement;
  if (
    current &&
    (current.offsetTop < list.scrollTop ||
      current.offsetTop + current.offsetHeight > list.scrollTop + list.clientHeight)
  )
    list.scrollTop = current.offsetTop - list.clientHeight / 2;
}

function participantsTable(detail: CallDetail): HTMLElement {
  const at = (t: number | undefined) => (t === undefined ? '—' : sinceInvite(t, detail.receivedAt));
  return h(
    'section',
    { 'aria-labelledby': 'participants-title' },
    h('h3', { id: 'participants-title' }, `Participants (${detail.participants.length})`),
    detail.participants.length === 0
      ? h('p', { class: 'hint' }, 'No roster received.')
      : h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Participant', 'Kind', 'Joined', 'Left', 'Sources'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...detail.participants.map((p) =>
              h(
                'tr',
                {},
                h(
                  'td',
                  { class: 'mono', title: p.id },
                  shortId(p.id),
                  p.id === detail.recordedUserId ? ' (recorded)' : '',
                ),
                h('td', {}, p.displayKind ?? p.kind, p.muted ? ' · muted' : ''),
                h('td', {}, at(p.joinedAt)),
                h('td', {}, at(p.leftAt)),
                h('td', { class: 'mono' }, p.sourceIds.join(', ') || '—'),
              ),
            ),
          ),
        ),
  );
}

function tracksTable(detail: CallDetail): HTMLElement {
  const at = (t: number | undefined) =>
    t === undefined ? 'now' : sinceInvite(t, detail.receivedAt);
  return h(
    'section',
    { 'aria-labelledby': 'tracks-title' },
    h('h3', { id: 'tracks-title' }, `Recorded tracks (${detail.tracks.length})`),
    detail.tracks.length === 0
      ? h('p', { class: 'hint' }, 'No track recorded.')
      : h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, 'Source'),
              h('th', { scope: 'col' }, 'Who, when'),
            ),
          ),
          h(
            'tbody',
            {},
            ...detail.tracks.map((t) =>
              h(
                'tr',
                {},
                h('td', { class: 'mono' }, t.sourceId),
                h(
                  'td',
                  {},
                  t.owners.length === 0
                    ? 'nobody'
                    : t.owners
                        .map((o) => `${shortId(o.participantId)} ${at(o.from)} – ${at(o.to)}`)
                        .join('; '),
                ),
              ),
            ),
          ),
        ),
  );
}

function reportsBlock(detail: CallDetail): HTMLElement {
  const media = detail.media;
  return h(
    'section',
    { 'aria-labelledby': 'reports-title' },
    h('h3', { id: 'reports-title' }, 'Recording status and media'),
    h(
      'p',
      { class: 'facts' },
      ...detail.recordingReports.map((r) =>
        h(
          'span',
          {},
          h('b', {}, r.status),
          ` ${sinceInvite(r.at, detail.receivedAt)}`,
          r.ok === false ? ` refused${r.httpStatus ? ` (${r.httpStatus})` : ''}` : r.ok ? ' ✓' : '',
        ),
      ),
      detail.recordingReports.length === 0 && h('span', {}, 'No recording status reported.'),
      media &&
        h(
          'span',
          {},
          'Media session ',
          h('b', {}, media.state),
          media.bytes !== undefined ? ` · ${bytes(media.bytes)}` : '',
          media.segments !== undefined ? ` · ${media.segments} segments` : '',
        ),
    ),
  );
}

/**
 * The repository stands alone: no file cites a document a clone does not have. Scans every
 * tracked (and new, not ignored) text file for
 * - names of design notes that were never part of the repository, paths outside it and internal
 *   issue numbers (public GitHub references such as `nodejs/node#57736` are fine);
 * - bare section-sign references, which point into a document without naming it;
 * - relative Markdown links, and `docs/….md` / `README.md` / `CONTRIBUTING.md` references, whose
 *   file or `#section` does not exist (sections as GitHub derives them from headings).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), '../..'));
/** This file holds planted examples of everything it looks for. */
const SELF = relative(ROOT, fileURLToPath(import.meta.url));

// Built from pieces so that this file does not itself name what it forbids.
const j = (...parts: string[]) => parts.join('');
const FORBIDDEN: readonly [RegExp, string][] = [
  [new RegExp(j('HOUSE', '-STYLE'), 'i'), 'a style guide outside the repository'],
  [new RegExp(j('library', '-notes'), 'i'), 'library notes outside the repository'],
  [
    new RegExp(j('\\bDESIGN', '(\\.md|\\s*\u00a7|\\b,? invariant)')),
    'a design note outside the repository',
  ],
  [new RegExp(j('teams-protocol', '\\s*\u00a7')), 'a protocol reference outside the repository'],
  [new RegExp(j('BENCH', 'MARKS\\.md')), 'a benchmark note outside the repository'],
  [new RegExp(j('\\.\\./', 'shared\\b')), 'a path outside the repository'],
  [new RegExp(j('/work', '/')), 'an absolute path of a development machine'],
  [new RegExp(j('\\b(issue|task)', ' #?\\d')), 'an internal issue number'],
  [/(^|[^\w/.-])#\d{1,4}\b(?![\w-])/, 'a bare issue number (name the public repository)'],
];

/** Tracked files plus new ones git does not ignore, so a file not yet committed counts too. */
function repositoryFiles(): string[] {
  const out = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '-z'],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  return [...new Set(out.split('\0').filter(Boolean))].filter(
    (f) => f !== 'package-lock.json' && f !== SELF && existsSync(join(ROOT, f)),
  );
}

function textOf(file: string): string | undefined {
  const buf = readFileSync(join(ROOT, file));
  return buf.includes(0) ? undefined : buf.toString('utf8');
}

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Problems with one reference `path#a` (path relative to the repository root). */
function checkTarget(path: string, anchors: readonly string[]): string | undefined {
  const full = join(ROOT, path);
  if (relative(ROOT, full).startsWith('..')) return `${path} is outside the repository`;
  if (!existsSync(full)) return `${path} does not exist`;
  if (anchors.length === 0 || !path.endsWith('.md')) return undefined;
  const have = anchorsOf(readFileSync(full, 'utf8'));
  const missing = anchors.filter((a) => !have.has(a));
  return missing.length > 0
    ? `${path} has no section ${missing.map((a) => `#${a}`).join(', ')}`
    : undefined;
}

const MD_LINK = /\]\(([^)\s]+)\)/g;
const DOC_REF =
  /(?<![\w/.-])((?:docs\/[\w-]+|README|CONTRIBUTING)\.md)((?:#[\w-]+)(?:,\s*#[\w-]+)*)?/g;

function problemsIn(file: string, text: string): string[] {
  const problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    const at = `${file}:${i + 1}`;
    for (const [pattern, what] of FORBIDDEN)
      if (pattern.test(line)) problems.push(`${at}: cites ${what}: ${line.trim()}`);
    if (/\u00a7/.test(line) && !/\bRFC \d+ \u00a7/.test(line))
      problems.push(`${at}: a section-sign reference that names no document: ${line.trim()}`);
    if (file.endsWith('.md'))
      for (const [, target] of line.matchAll(MD_LINK)) {
        if (/^[a-z][\w+.-]*:/i.test(target!)) continue; // https:, mailto:
        const [path, anchor] = target!.split('#') as [string, string | undefined];
        const resolved = path === '' ? file : relative(ROOT, join(ROOT, dirname(file), path));
        const problem = checkTarget(resolved, anchor ? [anchor] : []);
        if (problem) problems.push(`${at}: link ${target}: ${problem}`);
      }
    for (const [, path, tail] of line.matchAll(DOC_REF)) {
      const anchors = (tail ?? '')
        .split(/,\s*/)
        .filter(Boolean)
        .map((a) => a.slice(1));
      const problem = checkTarget(path!, anchors);
      if (problem) problems.push(`${at}: ${problem}`);
    }
  });
  return problems;
}

describe('the repository is self-contained', () => {
  it('cites no missing file, no missing section and no document outside it', () => {
    const files = repositoryFiles();
    expect(files).toContain('docs/teams-protocol.md');
    const problems = files.flatMap((f) => {
      const text = textOf(f);
      return text === undefined ? [] : problemsIn(f, text);
    });
    expect(problems).toEqual([]);
  });

  it('derives section ids the way GitHub does', () => {
    const ids = anchorsOf('# A b\n```\n# not a heading\n```\n## `x` & y: z\n## A b\n');
    expect([...ids]).toEqual(['a-b', 'x--y-z', 'a-b-1']);
  });

  it('catches a planted citation of each kind', () => {
    const planted = [
      j('see ../', 'shared/notes'),
      j('(', 'library', '-notes \u00a71)'),
      j('issue', ' 7, item 2'),
      'fixed in #7',
      'the roster (\u00a75.2)',
      'docs/no-such-page.md',
      'docs/teams-protocol.md#no-such-section',
      'docs/teams-protocol.md#roster, #no-such-section',
    ];
    for (const line of planted) expect(problemsIn('x.ts', line), line).not.toEqual([]);
    expect(problemsIn('docs/x.md', '[a](../nowhere.md)')).not.toEqual([]);
    expect(problemsIn('docs/x.md', '[a](teams-protocol.md#roster)')).toEqual([]);
    expect(
      problemsIn(
        'x.ts',
        'see nodejs/node#57736 (RFC 6749 \u00a75.2), docs/teams-protocol.md#roster',
      ),
    ).toEqual([]);
  });
});

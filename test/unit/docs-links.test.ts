import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers.js';

/**
 * Every relative link and #anchor in README.md and docs/*.md must lead somewhere: the file
 * exists, and an anchor matches a heading of the target as GitHub slugs it. No Markdown parser
 * is installed, so links are found with regular expressions after fenced code blocks and code
 * spans are removed (a link inside code is not a link): inline links and images
 * `[text](target "title")`, `<target>` destinations, and reference definitions `[label]: target`.
 * Headings are ATX headings (`## …`), the only kind these documents use.
 */

const PAGES = ['templates.md', 'billing.md', 'payments.md', 'privacy.md', 'operations.md'];

function documents(): string[] {
  const docs = readdirSync(join(repoRoot, 'docs')).filter((name) => name.endsWith('.md')).map((name) => join('docs', name));
  return ['README.md', ...docs.sort()];
}

/** The text with fenced code blocks blanked (line count kept). */
function outsideFences(markdown: string): string {
  const lines = markdown.split('\n');
  let fence: string | null = null;
  const kept = lines.map((line) => {
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence === null && open) {
      fence = open[1]!;
      return '';
    }
    if (fence !== null) {
      if (new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`).test(line)) fence = null;
      return '';
    }
    return line;
  });
  return kept.join('\n');
}

/** The text outside fenced code blocks, with code spans removed. */
function prose(markdown: string): string {
  // A code span: a run of backticks closed by a run of the same length (CommonMark).
  return outsideFences(markdown).replace(/(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, '');
}

/** The link destinations of a Markdown text, outside code. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const targets: string[] = [];
  // [text](dest) or ![alt](dest "title"); the text may hold one level of nested brackets.
  for (const match of text.matchAll(/!?\[(?:[^[\]]|\[[^[\]]*\])*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g)) {
    targets.push(match[1]!.replace(/^<|>$/g, ''));
  }
  for (const match of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/gm)) targets.push(match[1]!.replace(/^<|>$/g, ''));
  return targets;
}

/** GitHub's anchor for a heading's text (github-slugger): lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link shows its text
    .replace(/`/g, '')
    .replace(/<[^>]+>/g, '')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** The anchors of a Markdown text's headings, with GitHub's -1, -2 … for repeated ones. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of outsideFences(markdown).split('\n')) {
    const heading = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** What is wrong with each relative link of `file` (a path from the repository root). */
function brokenLinks(root: string, file: string): string[] {
  const read = (path: string) => readFileSync(path, 'utf8');
  const problems: string[] = [];
  const source = join(root, file);
  for (const target of linkTargets(read(source))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue; // https:, mailto: …
    const hash = target.indexOf('#');
    const pathPart = decodeURI(hash === -1 ? target : target.slice(0, hash));
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const destination = pathPart === '' ? source : resolve(dirname(source), pathPart);
    if (relative(root, destination).startsWith('..')) {
      problems.push(`${file}: ${target} leads outside the repository`);
      continue;
    }
    if (!existsSync(destination)) {
      problems.push(`${file}: ${target}: no such file`);
      continue;
    }
    if (anchor === undefined) continue;
    if (statSync(destination).isDirectory() || !destination.endsWith('.md')) {
      problems.push(`${file}: ${target}: an anchor into something that is not a Markdown file`);
      continue;
    }
    if (!anchors(read(destination)).has(anchor)) problems.push(`${file}: ${target}: no heading with the anchor #${anchor}`);
  }
  return problems;
}

describe('the checker itself', () => {
  it('slugs headings as GitHub does', () => {
    expect(slug('Rehearsing with `TXPLAN_NOW`')).toBe('rehearsing-with-txplan_now');
    expect(slug('Versions and `--base`')).toBe('versions-and---base');
    expect(slug('Statuses: draft, active, retired')).toBe('statuses-draft-active-retired');
    expect(slug("Dates are the clinic's own")).toBe('dates-are-the-clinics-own');
    expect(slug('`txplan init [DIR]`')).toBe('txplan-init-dir');
    expect(slug('Card numbers & unsafe text')).toBe('card-numbers--unsafe-text');
    expect([...anchors('# A\n## A\n```\n# not a heading\n```\n### B ###\n')]).toEqual(['a', 'a-1', 'b']);
  });

  it('finds links outside code only, and reports a missing file or heading', () => {
    const root = mkdtempSync(join(tmpdir(), 'txplan-docs-links-'));
    try {
      const a = '# Top\nSee [b](b.md#there), [self](#top), [gone](c.md), [bad](#nowhere), [up](../x.md) and ![img](pic.png "t").\n`[code](x.md)`\n```\n[fenced](y.md)\n```\n[ref]: b.md#missing\n';
      writeFileSync(join(root, 'a.md'), a);
      writeFileSync(join(root, 'b.md'), '## There\n');
      writeFileSync(join(root, 'pic.png'), '');
      expect(linkTargets(a)).toEqual(['b.md#there', '#top', 'c.md', '#nowhere', '../x.md', 'pic.png', 'b.md#missing']);
      expect(brokenLinks(root, 'a.md')).toEqual([
        'a.md: c.md: no such file',
        'a.md: #nowhere: no heading with the anchor #nowhere',
        'a.md: ../x.md leads outside the repository',
        'a.md: b.md#missing: no heading with the anchor #missing',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('README.md and docs/', () => {
  it('has the five documentation pages, each linked from the README', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    for (const page of PAGES) {
      expect(existsSync(join(repoRoot, 'docs', page)), page).toBe(true);
      expect(linkTargets(readme), page).toContain(`docs/${page}`);
    }
  });

  it.each(documents())('%s: every relative link and #anchor resolves', (file) => {
    expect(brokenLinks(repoRoot, file)).toEqual([]);
  });

  it.each(documents())('%s: stands on its own, pointing at nothing outside the repository', (file) => {
    const text = readFileSync(join(repoRoot, file), 'utf8');
    expect(text).not.toMatch(/SPEC\.md/i);
    expect(text).not.toContain('../shared');
  });
});

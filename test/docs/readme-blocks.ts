/**
 * The commands README.md shows, read from its code blocks in document order,
 * for test/docs/readme.test.ts.
 *
 * - A fenced block tagged `yaml`, `crontab` or any other tag but `sh` holds a
 *   file, not commands.
 * - In an untagged block (and in an `sh` block that uses prompts), each line
 *   starting with `$ ` is a command, and the lines up to the next command are
 *   the output the README shows for it.
 * - In an `sh` block without prompts, every line is a command but blank lines
 *   and `#` comments (a comment may go on over lines of its own).
 * - An indented code block (four spaces beyond its list item) holds `$ `
 *   commands without output.
 *
 * An untagged block without any `$ ` line (a folder tree, a sample of output
 * alone) holds no command.
 */
export interface ReadmeCommand {
  /** 1-based line of README.md the command is on. */
  line: number;
  /** The headings it sits under, outermost first, without their `#`s. */
  headings: string[];
  /** The command as a shell reads it (without the `$ ` prompt). */
  text: string;
  /** The output lines the README shows under it (empty when it shows none). */
  output: string[];
  /** The line its code block starts on: commands of one block share it, as they share a shell. */
  block: number;
}

export interface ReadmeBlock {
  line: number;
  headings: string[];
  tag: string;
  lines: string[];
}

/** Every fenced code block of the README, with its tag and the heading it sits under. */
export function fencedBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  const headings = new Headings();
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]!);
    if (!open) {
      headings.read(lines[i]!);
      continue;
    }
    const [, indent, fence, tag] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !lines[j]!.trimStart().startsWith(fence!); j++) {
      body.push(lines[j]!.startsWith(indent!) ? lines[j]!.slice(indent!.length) : lines[j]!.trimStart());
    }
    blocks.push({ line: i + 1, headings: headings.now(), tag: tag ?? '', lines: body });
    i = j;
  }
  return blocks;
}

/** Every command the README shows, in document order (the first block, `npm install …`, included). */
export function readmeCommands(markdown: string): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  for (const block of fencedBlocks(markdown)) {
    if (block.tag !== '' && block.tag !== 'sh') continue;
    const prompted = block.lines.some((l) => l.startsWith('$ '));
    if (!prompted) {
      if (block.tag !== 'sh') continue;
      block.lines.forEach((l, k) => {
        if (l.trim() === '' || l.trimStart().startsWith('#')) return;
        commands.push({ line: block.line + 1 + k, headings: block.headings, text: l, output: [], block: block.line });
      });
      continue;
    }
    let current: ReadmeCommand | undefined;
    block.lines.forEach((l, k) => {
      if (l.startsWith('$ ')) {
        current = { line: block.line + 1 + k, headings: block.headings, text: l.slice(2), output: [], block: block.line };
        commands.push(current);
      } else if (current && l.trim() !== '') current.output.push(l);
    });
  }
  // Indented code blocks inside list items: `      $ txplan …` outside any fence.
  const lines = markdown.split('\n');
  let inFence: string | undefined;
  const headings = new Headings();
  lines.forEach((l, i) => {
    const fence = /^\s*(`{3,}|~{3,})/.exec(l);
    if (fence) inFence = inFence === undefined ? fence[1] : l.trimStart().startsWith(inFence) ? undefined : inFence;
    else if (inFence === undefined) {
      headings.read(l);
      const indented = /^ {4,}\$ (.*)$/.exec(l);
      if (indented) commands.push({ line: i + 1, headings: headings.now(), text: indented[1]!, output: [], block: i + 1 });
    }
  });
  return commands.sort((a, b) => a.line - b.line);
}

/** The headings open at a line: a heading closes those of its level and below. */
class Headings {
  private open: Array<{ level: number; text: string }> = [];
  read(line: string): void {
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (!heading) return;
    const level = heading[1]!.length;
    this.open = [...this.open.filter((h) => h.level < level), { level, text: heading[2]!.trim() }];
  }
  now(): string[] {
    return this.open.map((h) => h.text);
  }
}

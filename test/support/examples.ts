// Finds the commands and code a newcomer copies from README.md and from the start-up banner, so a
// test can run them against a started Mailroom.

/** A README code block preceded by `<!-- example: not run (reason) -->` is skipped, with that reason. */
const NOT_RUN = /^<!--\s*example:\s*not run\s*\(([^)]+)\)\s*-->$/;

export interface CodeBlock {
  lang: string;
  code: string;
  /** The line of the opening fence (1-based), for messages. */
  line: number;
  /** Why the block is not run, when the README says so. */
  notRun: string | undefined;
}

/** Fenced code blocks of a Markdown document, dedented to their fence (list items indent them). */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split("\n");
  const blocks: CodeBlock[] = [];
  let lastText = "";
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(\s*)```(\S*)\s*$/.exec(lines[i]!);
    if (!fence) {
      if (lines[i]!.trim() !== "") lastText = lines[i]!.trim();
      continue;
    }
    const indent = fence[1]!.length;
    const body: string[] = [];
    const start = i;
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!.slice(indent));
    blocks.push({
      lang: fence[2]!,
      code: body.join("\n"),
      line: start + 1,
      notRun: NOT_RUN.exec(lastText)?.[1],
    });
    lastText = "";
  }
  return blocks;
}

/**
 * Shell commands of a script, one per logical command: a line ending in `\` or inside an open
 * single-quoted string continues on the next line, as the shell reads it.
 */
export function shellCommands(script: string): string[] {
  const commands: string[] = [];
  let current = "";
  for (const line of script.split("\n")) {
    current = current === "" ? line : `${current}\n${line}`;
    const openQuote = (current.match(/'/g)?.length ?? 0) % 2 === 1;
    if (openQuote || /\\$/.test(current)) continue;
    if (current.trim() !== "" && !current.trim().startsWith("#")) commands.push(current.trim());
    current = "";
  }
  if (current.trim() !== "") commands.push(current.trim());
  return commands;
}

/**
 * The commands the banner suggests (`curl …` and `npx mailroom …`), each from where it starts on its
 * line, with `\`-continued lines joined.
 */
export function bannerCommands(banner: string): string[] {
  const lines = banner.split("\n");
  const commands: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = /(curl |npx mailroom )/.exec(lines[i]!);
    if (!start) continue;
    let command = lines[i]!.slice(start.index).trimEnd();
    while (command.endsWith("\\") && i + 1 < lines.length) command = `${command}\n  ${lines[++i]!.trim()}`;
    commands.push(command);
  }
  return commands;
}

// `body_plain` from the HTML body Graph already sent, so a list page needs one Graph listing instead of
// a second one with `Prefer: outlook.body-content-type="text"`. Not Exchange's converter: it follows
// HTML's rendering rules (whitespace collapses, `<br>` and block elements break lines, `<pre>` keeps
// its text, head/style/script/title and comments vanish, entities are decoded). One linear pass with
// indexOf, no backtracking regexes, so a hostile body cannot make it slow.

const BLOCK = new Set([
  "address",
  "article",
  "aside",
  "blockquote",
  "center",
  "dd",
  "div",
  "dl",
  "dt",
  "fieldset",
  "figcaption",
  "figure",
  "footer",
  "form",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "header",
  "hr",
  "li",
  "main",
  "nav",
  "ol",
  "p",
  "pre",
  "section",
  "table",
  "tbody",
  "tfoot",
  "thead",
  "tr",
  "ul",
]);
/** Elements whose content is never shown. */
const HIDDEN = new Set(["head", "style", "script", "title", "template", "noscript"]);
/** Case-insensitive close-tag finders (used synchronously with lastIndex, so sharing them is safe). */
const CLOSERS = new Map([...HIDDEN].map((name) => [name, new RegExp(`</${name}`, "gi")]));
const CELL = new Set(["td", "th"]);
const NAMED: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
  copy: "©",
  reg: "®",
  trade: "™",
  hellip: "…",
  mdash: "—",
  ndash: "–",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
  bull: "•",
  middot: "·",
  euro: "€",
  pound: "£",
  yen: "¥",
  cent: "¢",
  deg: "°",
  times: "×",
  laquo: "«",
  raquo: "»",
  shy: "",
  zwnj: "\u200c",
  zwj: "\u200d",
};
const ENTITY = /&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z][a-zA-Z0-9]{1,31});/g;

function decodeEntities(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(ENTITY, (whole, entity: string) => {
    if (entity[0] === "#") {
      const code =
        entity[1] === "x" || entity[1] === "X"
          ? Number.parseInt(entity.slice(2), 16)
          : Number(entity.slice(1));
      return code > 0 && code < 0x110000 && !(code >= 0xd800 && code <= 0xdfff)
        ? String.fromCodePoint(code)
        : "\ufffd";
    }
    return NAMED[entity] ?? NAMED[entity.toLowerCase()] ?? whole;
  });
}

function tagName(tag: string): string {
  let end = 0;
  while (end < tag.length && /[a-zA-Z0-9]/.test(tag[end]!)) end++;
  return tag.slice(0, end).toLowerCase();
}

export function htmlToText(html: string): string {
  const out: string[] = [];
  /** Line breaks pending before the next text, and whether a space is pending. */
  let breaks = 0;
  let space = false;
  let started = false;
  let pre = 0;
  const emitText = (raw: string) => {
    if (pre > 0) {
      const text = decodeEntities(raw).replace(/\r\n?/g, "\n");
      if (text === "") return;
      flush();
      out.push(text);
      return;
    }
    const text = decodeEntities(raw.replace(/[ \t\r\n\f]+/g, " "));
    if (text === "") return;
    const leading = text[0] === " ";
    const trailing = text.length > 1 && text.at(-1) === " ";
    const core = text.trim();
    if (core === "") {
      space = true;
      return;
    }
    if (leading) space = true;
    flush();
    out.push(core);
    space = trailing;
  };
  const flush = () => {
    if (started && breaks > 0) out.push("\n".repeat(breaks));
    else if (started && space) out.push(" ");
    breaks = 0;
    space = false;
    started = true;
  };
  const lineBreak = (count: number) => {
    if (!started) return;
    breaks = Math.max(breaks, count);
    space = false;
  };
  const hardBreak = () => {
    // `<br>`: a new line each, even several in a row (a trailing one before a block end adds none).
    if (!started) return;
    breaks++;
    space = false;
  };

  let i = 0;
  const n = html.length;
  while (i < n) {
    const lt = html.indexOf("<", i);
    if (lt < 0) {
      emitText(html.slice(i));
      break;
    }
    if (lt > i) emitText(html.slice(i, lt));
    if (html.startsWith("<!--", lt)) {
      const end = html.indexOf("-->", lt + 4);
      i = end < 0 ? n : end + 3;
      continue;
    }
    const next = html[lt + 1] ?? "";
    const closing = next === "/";
    if (!(closing || /[a-zA-Z!?]/.test(next))) {
      // A lone "<" is text.
      emitText("<");
      i = lt + 1;
      continue;
    }
    const gt = html.indexOf(">", lt + 1);
    if (gt < 0) break; // an unterminated tag runs to the end: nothing more is text
    const name = tagName(html.slice(closing ? lt + 2 : lt + 1, Math.min(gt, lt + 40)));
    i = gt + 1;
    if (!closing && HIDDEN.has(name)) {
      // Skip to the matching close tag (case-insensitive), or drop the rest.
      const closer = CLOSERS.get(name)!;
      closer.lastIndex = i;
      const found = closer.exec(html);
      if (!found) break;
      const close = found.index;
      const closeEnd = html.indexOf(">", close);
      i = closeEnd < 0 ? n : closeEnd + 1;
      continue;
    }
    if (name === "br") hardBreak();
    else if (name === "p" || /^h[1-6]$/.test(name) || name === "blockquote" || name === "table")
      lineBreak(closing ? 2 : 1);
    else if (BLOCK.has(name)) lineBreak(1);
    else if (CELL.has(name) && !closing) {
      if (started && out.length > 0 && breaks === 0) space = true;
    }
    if (name === "pre") pre = Math.max(0, pre + (closing ? -1 : 1));
  }
  return out
    .join("")
    .replaceAll("\u00a0", " ")
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

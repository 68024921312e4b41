// Instruments an HTML body for tracking (docs/adr/0009-email-tracking.md): an open pixel before
// `</body>` and every http(s) `<a href>` pointed at Mailroom's click route. Pure: a function of the
// HTML, the options and the URL maker, so every send path (API send, MIME, scheduled) gets the same
// result by calling it before its draft is built.

/** Makes the tracked URLs of one send (signed tokens under PUBLIC_URL or the custom domain). */
export interface TrackingUrlMaker {
  pixel(): string;
  link(target: string): string;
}

export interface InstrumentOptions {
  opens: boolean;
  links: boolean;
}

export interface Instrumented {
  html: string;
  /** Whether a pixel was added. */
  opens: boolean;
  /** How many links now go through Mailroom. */
  links: number;
}

// An `<a>` start tag: attributes may hold `>` inside quotes, so they are matched one by one.
const ANCHOR = /<a((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*(\/?)>/gi;
const HREF = /(\shref\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/i;
const OPT_OUT = /\sdata-mailroom-track\s*=\s*["']?(?:off|false|no)\b/i;
/**
 * Links left alone on purpose: unsubscribe and opt-out links (a scanner following a rewritten one
 * would count as a click on "unsubscribe", and RFC 8058 one-click handling wants the real URL), and
 * unfilled template placeholders, which are not URLs yet.
 */
const KEEP = /unsubscribe|opt-?out|\{\{|%7B%7B|\[\[/i;

/** Whether an href is an absolute http(s) URL worth tracking, after HTML decoding. */
export function isTrackableHref(href: string): boolean {
  const value = href.trim();
  if (!/^https?:\/\/[^\s/?#]+/i.test(value)) return false;
  if (KEEP.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

export function instrumentHtml(
  html: string,
  options: InstrumentOptions,
  urls: TrackingUrlMaker,
): Instrumented {
  let links = 0;
  let out = html;
  if (options.links)
    out = out.replace(ANCHOR, (tag: string, attributes: string, selfClosing: string) => {
      if (OPT_OUT.test(attributes)) return tag;
      const href = HREF.exec(attributes);
      if (!href) return tag;
      const raw = href[2] ?? href[3] ?? href[4] ?? "";
      const target = decodeEntities(raw).trim();
      if (!isTrackableHref(target)) return tag;
      links++;
      const tracked = `${href[1]}"${escapeAttribute(urls.link(target))}"`;
      const rewritten = attributes.replace(HREF, () => tracked);
      return `${tag.slice(0, 2)}${rewritten}${selfClosing ? " /" : ""}>`;
    });
  if (!options.opens) return { html: out, opens: false, links };
  const pixel = `<img src="${escapeAttribute(urls.pixel())}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;margin:0;padding:0" />`;
  const end = out.search(/<\/body\s*>(?![\s\S]*<\/body\s*>)/i);
  out = end === -1 ? `${out}${pixel}` : `${out.slice(0, end)}${pixel}${out.slice(end)}`;
  return { html: out, opens: true, links };
}

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

/** What the browser reads from an attribute value (the entities hrefs carry in practice). */
export function decodeEntities(value: string): string {
  // Named entities need their `;` in attributes (`&copy=1` stays as written, as in browsers).
  return value.replace(
    /&(?:(#x[0-9a-f]+|#\d+);?|([a-z]+);)/gi,
    (entity: string, number?: string, name?: string) => {
      if (number !== undefined) {
        const code = /^#x/i.test(number) ? Number.parseInt(number.slice(2), 16) : Number(number.slice(1));
        return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
      }
      return NAMED[(name ?? "").toLowerCase()] ?? entity;
    },
  );
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}

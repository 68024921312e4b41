// Body formats: Graph returns HTML unless `Prefer: outlook.body-content-type="text"` (reference §3.3),
// converting between the stored format and the requested one, and strips unsafe HTML unless
// `Prefer: outlook.allow-unsafe-html`.

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] === "#") {
      const code =
        entity[1] === "x" || entity[1] === "X"
          ? Number.parseInt(entity.slice(2), 16)
          : Number(entity.slice(1));
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[entity.toLowerCase()] ?? whole;
  });
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

export function htmlToText(html: string): string {
  const text = html
    .replace(/<(head|style|script|title)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, "")
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/(p|div|tr|li|h[1-6]|blockquote|table)\s*>/gi, "\n")
    .replace(/<[^>]+>/g, "");
  return decodeEntities(text)
    .replace(/\r\n?/g, "\n")
    .replace(/[ \t]+\n/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

const HTML_HEAD =
  '<html><head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>\r\n<body>\r\n';

export function textToHtml(text: string): string {
  const lines = escapeHtml(text).replace(/\r\n?/g, "\n").split("\n").join("<br>\r\n");
  return `${HTML_HEAD}<div class="PlainText">${lines}</div>\r\n</body>\r\n</html>\r\n`;
}

/** Exchange stores HTML bodies as full documents; fragments are wrapped on the way in. */
export function normalizeHtml(html: string): string {
  return /<html[\s>]/i.test(html) ? html : `${HTML_HEAD}${html}\r\n</body>\r\n</html>\r\n`;
}

function stripUnsafe(html: string): string {
  return html
    .replace(/<script\b[^>]*>[\s\S]*?<\/script\s*>/gi, "")
    .replace(/\s+on[a-z]+\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi, "")
    .replace(/javascript:/gi, "");
}

export interface BodyPreferences {
  /** null: Graph's default (HTML). */
  contentType: "html" | "text" | null;
  allowUnsafeHtml: boolean;
}

type StoredBody = { contentType: "html" | "text"; content: string };
// Bodies are immutable values (a change replaces the object), so conversions are cached per object:
// listing pages must not re-run HTML conversion on every request.
const renderCache = new WeakMap<StoredBody, Map<string, StoredBody>>();
const previewCache = new WeakMap<StoredBody, string>();

export function renderBody(body: StoredBody, prefs: BodyPreferences): StoredBody {
  const key = `${prefs.contentType ?? "html"}|${prefs.allowUnsafeHtml}`;
  let variants = renderCache.get(body);
  const cached = variants?.get(key);
  if (cached) return { ...cached };
  const rendered = convertBody(body, prefs);
  if (!variants) {
    variants = new Map();
    renderCache.set(body, variants);
  }
  variants.set(key, rendered);
  return { ...rendered };
}

function convertBody(body: StoredBody, prefs: BodyPreferences): StoredBody {
  const wanted = prefs.contentType ?? "html";
  if (wanted === "text") {
    return {
      contentType: "text",
      content: body.contentType === "text" ? body.content : htmlToText(body.content),
    };
  }
  const html = body.contentType === "html" ? normalizeHtml(body.content) : textToHtml(body.content);
  return { contentType: "html", content: prefs.allowUnsafeHtml ? html : stripUnsafe(html) };
}

/** First 255 characters of the text body, whitespace collapsed. */
export function bodyPreview(body: StoredBody): string {
  const cached = previewCache.get(body);
  if (cached !== undefined) return cached;
  const text = body.contentType === "html" ? htmlToText(body.content) : body.content;
  const preview = text.replace(/\s+/g, " ").trim().slice(0, 255);
  previewCache.set(body, preview);
  return preview;
}

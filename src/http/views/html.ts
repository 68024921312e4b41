/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** Tagged template that escapes every interpolation unless it is `raw(...)`. */
export class Raw {
  constructor(readonly html: string) {}
}
export const raw = (html: string): Raw => new Raw(html);

export function html(strings: TemplateStringsArray, ...values: unknown[]): Raw {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    if (value instanceof Raw) out += value.html;
    else if (Array.isArray(value))
      out += value.map((v) => (v instanceof Raw ? v.html : escapeHtml(String(v)))).join("");
    else if (value !== undefined && value !== null && value !== false) out += escapeHtml(String(value));
    out += strings[i + 1] ?? "";
  });
  return new Raw(out);
}

// Response serialisation with per-message JSON reuse. A listing page of 50 messages with full HTML
// bodies is ~200 KB of JSON; re-stringifying and UTF-8-encoding the same unchanged messages on
// every request was most of the sandbox's own time per call. Rendered messages are cached
// (serialize.ts) and registered here; their UTF-8 JSON is produced once and spliced into later
// responses as bytes.
//
// `graphJsonBytes(value)` is byte-for-byte `Buffer.from(JSON.stringify(value))`: plain objects and
// arrays are walked in the same key order with the same rules (undefined/function/symbol members
// skipped in objects and written as null in arrays); everything else is delegated to JSON.stringify.

/** Frozen rendered objects whose JSON may be reused; the bytes are filled in on first use. */
const fragments = new WeakMap<object, Buffer | null>();

export function registerJsonFragment<T extends object>(value: T): T {
  fragments.set(value, null);
  return value;
}

function isPlain(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function skipped(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}

class Writer {
  private readonly chunks: Buffer[] = [];
  private text = "";

  write(text: string): void {
    this.text += text;
  }

  writeBytes(bytes: Buffer): void {
    if (this.text) {
      this.chunks.push(Buffer.from(this.text));
      this.text = "";
    }
    this.chunks.push(bytes);
  }

  finish(): Buffer {
    if (this.text) this.chunks.push(Buffer.from(this.text));
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }
}

function write(out: Writer, value: unknown): void {
  if (value === null || typeof value !== "object") {
    out.write(JSON.stringify(value));
    return;
  }
  const cached = fragments.get(value);
  if (cached !== undefined) {
    let bytes = cached;
    if (bytes === null) {
      bytes = Buffer.from(JSON.stringify(value));
      fragments.set(value, bytes);
    }
    out.writeBytes(bytes);
    return;
  }
  if (Array.isArray(value)) {
    out.write("[");
    value.forEach((item, index) => {
      if (index > 0) out.write(",");
      if (skipped(item)) out.write("null");
      else write(out, item);
    });
    out.write("]");
    return;
  }
  if (!isPlain(value) || "toJSON" in value) {
    out.write(JSON.stringify(value));
    return;
  }
  out.write("{");
  let first = true;
  for (const key of Object.keys(value)) {
    const member = (value as Record<string, unknown>)[key];
    if (skipped(member)) continue;
    out.write(`${first ? "" : ","}${JSON.stringify(key)}:`);
    first = false;
    write(out, member);
  }
  out.write("}");
}

/** UTF-8 JSON of `value`, identical to `Buffer.from(JSON.stringify(value))`. */
export function graphJsonBytes(value: unknown): Buffer {
  const out = new Writer();
  write(out, value);
  return out.finish();
}

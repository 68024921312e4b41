import { AppError } from "../lib/errors.ts";

/** Cursors are standard base64 (with padding) of a small JSON object: Unipile's SDK rejects base64url. */
export function encodeCursor(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64");
}

export function decodeCursor(cursor: string): Record<string, unknown> {
  // Query strings may turn '+' into ' ' (form encoding): undo that before decoding.
  const normalised = cursor.replace(/ /g, "+");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(normalised) || normalised.length % 4 !== 0) {
    throw new AppError("invalid_parameters", { detail: "cursor: not a cursor returned by this endpoint" });
  }
  try {
    const parsed = JSON.parse(Buffer.from(normalised, "base64").toString("utf8")) as unknown;
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new AppError("invalid_parameters", { detail: "cursor: not a cursor returned by this endpoint" });
}

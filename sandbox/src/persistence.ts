// Optional persistence of the sandbox's identity state (tenants, users, apps, consents, tokens)
// to a JSON file, so a standalone sandbox keeps connected accounts across restarts.
// Mailboxes are not persisted: they are re-seeded from the corpus on start.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { SandboxState } from "./state.ts";

const FORMAT = "mailroom-sandbox-state/v1";
const PERSISTED = [
  "tenants",
  "users",
  "apps",
  "consents",
  "accessTokens",
  "refreshTokens",
  "mailboxPermissions",
] as const;

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Set) return { $set: [...value] };
  if (value instanceof Map) return { $map: [...value] };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const record = value as { $set?: unknown[]; $map?: [unknown, unknown][] };
    if (Array.isArray(record.$set) && Object.keys(record).length === 1) return new Set(record.$set);
    if (Array.isArray(record.$map) && Object.keys(record).length === 1) return new Map(record.$map);
  }
  return value;
}

export function serializeState(state: SandboxState): string {
  const snapshot: Record<string, unknown> = { format: FORMAT, savedAt: new Date(state.now()).toISOString() };
  for (const name of PERSISTED) snapshot[name] = state[name];
  return JSON.stringify(snapshot, replacer, 2);
}

export function saveState(state: SandboxState, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  // Tokens and passwords of sandbox users are fake but still credentials: owner-only file.
  writeFileSync(temporary, serializeState(state), { mode: 0o600 });
  renameSync(temporary, path);
}

/** Replaces the persisted collections of `state` with the file's content. Returns false if there is no file. */
export function loadState(state: SandboxState, path: string): boolean {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
  const snapshot = JSON.parse(text, reviver) as Record<string, unknown>;
  if (snapshot.format !== FORMAT)
    throw new Error(`${path} is not a sandbox state file (format ${String(snapshot.format)})`);
  for (const name of PERSISTED) {
    const saved = snapshot[name];
    if (!(saved instanceof Map)) continue;
    const target = state[name] as Map<unknown, unknown>;
    target.clear();
    for (const [key, value] of saved) target.set(key, value);
  }
  return true;
}

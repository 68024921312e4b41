import { randomBytes } from "node:crypto";
import type { Clock } from "../../lib/clock.ts";
import { hashToken } from "../../lib/crypto.ts";
import { AppError } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import type { ApiKeyRepository, ApiKeyRow } from "../../storage/repositories/api-key.repository.ts";

export interface ApiKeySummary {
  id: string;
  name: string;
  prefix: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

const KEY_PREFIX = "mr_";
/** Verified keys are cached briefly so the hot path does no hashing lookup per request. */
const CACHE_TTL_MS = 5_000;
/** `last_used_at` is written at most this often per key. */
const TOUCH_INTERVAL_MS = 60_000;

export class ApiKeyService {
  private readonly cache = new Map<string, { row: ApiKeyRow; until: number }>();
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly repo: ApiKeyRepository,
    private readonly clock: Clock,
  ) {}

  /** Returns the key once; only its SHA-256 hash is stored. */
  async create(name: string): Promise<{ key: string; summary: ApiKeySummary }> {
    const trimmed = name.trim();
    if (trimmed === "" || trimmed.length > 200) {
      throw new AppError("invalid_parameters", { detail: "name: must be 1 to 200 characters" });
    }
    const key = `${KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
    const row: ApiKeyRow = {
      id: newId(),
      name: trimmed,
      prefix: key.slice(0, 10),
      hash: hashToken(key),
      created_at: this.clock.now(),
      last_used_at: null,
      revoked_at: null,
    };
    await this.repo.insert(row);
    return { key, summary: toSummary(row) };
  }

  async list(): Promise<ApiKeySummary[]> {
    return (await this.repo.list()).map(toSummary);
  }

  /** Revokes by id, or by name when exactly one active key has it. */
  async revoke(idOrName: string): Promise<ApiKeySummary> {
    let row = await this.repo.findById(idOrName);
    if (!row) {
      const byName = (await this.repo.findByName(idOrName)).filter((r) => r.revoked_at === null);
      if (byName.length > 1) {
        throw new AppError("invalid_parameters", {
          detail: `${byName.length} active keys are named "${idOrName}"; revoke by id instead`,
        });
      }
      row = byName[0];
    }
    if (!row)
      throw new AppError("resource_not_found", { detail: `No API key with id or name "${idOrName}"` });
    const at = this.clock.now();
    await this.repo.revoke(row.id, at);
    this.cache.clear();
    return toSummary({ ...row, revoked_at: row.revoked_at ?? at });
  }

  /**
   * Whether this process verified the key within the cache's lifetime (the bound a revocation in
   * another process takes) and its last use needs no write: the per-request check without a promise
   * or a database read. When false, call `verify`.
   */
  isFreshlyVerified(presented: string | undefined): boolean {
    if (presented === undefined) return false;
    const entry = this.cache.get(hashToken(presented.trim()));
    const now = this.clock.now();
    if (!entry || entry.until < now) return false;
    return now - (this.touched.get(entry.row.id) ?? entry.row.last_used_at ?? 0) < TOUCH_INTERVAL_MS;
  }

  /** Resolves the `X-API-KEY` header to a key, or throws the Unipile 401. */
  async verify(presented: string | undefined): Promise<ApiKeySummary> {
    if (presented === undefined || presented.trim() === "") {
      throw new AppError("missing_credentials", { detail: "The X-API-KEY header is missing." });
    }
    const hash = hashToken(presented.trim());
    const now = this.clock.now();
    let row = this.cache.get(hash);
    if (!row || row.until < now) {
      const found = await this.repo.findActiveByHash(hash);
      if (!found) {
        this.cache.delete(hash);
        throw new AppError("invalid_credentials", { detail: "The API key is invalid or has been revoked." });
      }
      row = { row: found, until: now + CACHE_TTL_MS };
      this.cache.set(hash, row);
    }
    const last = this.touched.get(row.row.id) ?? row.row.last_used_at ?? 0;
    if (now - last >= TOUCH_INTERVAL_MS) {
      this.touched.set(row.row.id, now);
      await this.repo.touch(row.row.id, now);
    }
    return toSummary(row.row);
  }
}

function toSummary(row: ApiKeyRow): ApiKeySummary {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

// API keys for /api/v1: create (shown once), list with last use, revoke. Times are epoch milliseconds.
import { type Static, Type } from "typebox";
import { endpoint, IdParams, Nullable } from "./common.ts";

export const ApiKeyInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  createdAt: Type.Number(),
  lastUsedAt: Nullable(Type.Number()),
  revokedAt: Nullable(Type.Number()),
});
export type ApiKeyInfo = Static<typeof ApiKeyInfo>;

export const ApiKeysResponse = Type.Object({ keys: Type.Array(ApiKeyInfo) });
export type ApiKeysResponse = Static<typeof ApiKeysResponse>;

export const CreateApiKeyRequest = Type.Object(
  { name: Type.String({ maxLength: 200 }) },
  { additionalProperties: false },
);
export type CreateApiKeyRequest = Static<typeof CreateApiKeyRequest>;

export const CreateApiKeyResponse = Type.Object({
  /** Shown once: only its hash is stored. */
  key: Type.String(),
  summary: ApiKeyInfo,
});
export type CreateApiKeyResponse = Static<typeof CreateApiKeyResponse>;

export const API_KEY_ENDPOINTS = [
  endpoint("GET", "/api-keys", { response: { 200: ApiKeysResponse } }),
  endpoint("POST", "/api-keys", { body: CreateApiKeyRequest, response: { 201: CreateApiKeyResponse } }),
  endpoint("DELETE", "/api-keys/:id", {
    params: IdParams,
    response: { 200: Type.Object({ revoked: ApiKeyInfo }) },
  }),
] as const;

// Discovery as MSAL and OIDC libraries read it: the OpenID configuration per authority, the JWKS,
// instance discovery, and the error lookup page that `error_uri` points to (reference §1.1, §1.8).
import { CONSUMERS_TENANT_ID } from "../state.ts";
import { resolveAuthority } from "./authority.ts";
import {
  baseUrl,
  html,
  type IdentityEnv,
  type IdentityRequest,
  type IdentityResult,
  str,
  tokenErrorResult,
} from "./context.ts";
import { AADSTS } from "./errors.ts";
import { errorCodePage } from "./pages.ts";

const CACHED = { "cache-control": "max-age=86400, private", "access-control-allow-origin": "*" };

export function openidConfiguration(env: IdentityEnv, req: IdentityRequest): IdentityResult {
  const authority = resolveAuthority(env.state, req.tenant);
  if (!authority) return tokenErrorResult(env, req, AADSTS.tenantNotFound(req.tenant));
  const seg = encodeURIComponent(req.tenant);
  const issuerTenant =
    authority.kind === "tenant"
      ? (authority.tenant?.id ?? "{tenantid}")
      : authority.kind === "consumers"
        ? CONSUMERS_TENANT_ID
        : "{tenantid}";
  const b = baseUrl(env);
  const doc = {
    token_endpoint: `${b}/${seg}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `${b}/${seg}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: `${b}/${issuerTenant}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: "https://graph.microsoft.com/oidc/userinfo",
    authorization_endpoint: `${b}/${seg}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${b}/${seg}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${b}/${seg}/oauth2/v2.0/logout`,
    claims_supported: [
      "sub",
      "iss",
      "cloud_instance_name",
      "cloud_instance_host_name",
      "cloud_graph_host_name",
      "msgraph_host",
      "aud",
      "exp",
      "iat",
      "auth_time",
      "acr",
      "nonce",
      "preferred_username",
      "name",
      "tid",
      "ver",
      "at_hash",
      "c_hash",
      "email",
    ],
    kerberos_endpoint: `${b}/${seg}/kerberos`,
    tenant_region_scope: authority.kind === "tenant" ? "EU" : null,
    cloud_instance_name: "microsoftonline.com",
    cloud_graph_host_name: "graph.windows.net",
    msgraph_host: "graph.microsoft.com",
    rbac_url: "https://pas.windows.net",
  };
  return {
    kind: "json",
    status: 200,
    headers: { ...CACHED, "content-type": "application/json; charset=utf-8" },
    body: doc,
  };
}

export function jwks(env: IdentityEnv, req: IdentityRequest): IdentityResult {
  const authority = resolveAuthority(env.state, req.tenant);
  if (!authority) return tokenErrorResult(env, req, AADSTS.tenantNotFound(req.tenant));
  const jwk = env.runtime.key.publicJwk;
  const issuerTenant = authority.kind === "tenant" ? (authority.tenant?.id ?? "{tenantid}") : "{tenantid}";
  return {
    kind: "json",
    status: 200,
    headers: CACHED,
    body: {
      keys: [
        {
          kty: jwk.kty,
          use: "sig",
          kid: jwk.kid,
          x5t: jwk.kid,
          n: jwk.n,
          e: jwk.e,
          alg: "RS256",
          cloud_instance_name: "microsoftonline.com",
          issuer: `${baseUrl(env)}/${issuerTenant}/v2.0`,
        },
      ],
    },
  };
}

/** Instance discovery, as MSAL calls it (reference §1.1). */
export function instanceDiscovery(env: IdentityEnv, req: IdentityRequest): IdentityResult {
  const b = baseUrl(env);
  const host = new URL(b).host;
  const authorizeEndpoint = str(req.query, "authorization_endpoint");
  let tenant = "common";
  if (authorizeEndpoint) {
    try {
      tenant = new URL(authorizeEndpoint).pathname.split("/")[1] || "common";
    } catch {}
  }
  return {
    kind: "json",
    status: 200,
    headers: { "access-control-allow-origin": "*" },
    body: {
      tenant_discovery_endpoint: `${b}/${tenant}/v2.0/.well-known/openid-configuration`,
      "api-version": "1.1",
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    },
  };
}

/** The error lookup page that `error_uri` points to. */
export function errorLookupPage(req: IdentityRequest): IdentityResult {
  const code = str(req.query, "code") ?? "";
  return html(errorCodePage(code, `AADSTS${code}: see the error_description of the response for details.`));
}

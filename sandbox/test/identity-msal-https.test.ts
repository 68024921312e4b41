// Fidelity check, https variant of reference §7.3: msal-node with the sandbox as its authority
// (`knownAuthorities`), fetching and validating the sandbox's discovery document itself.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ConfidentialClientApplication, CryptoProvider, type INetworkModule } from "@azure/msal-node";
import { ensureLocalCertificates } from "../src/local-ca.ts";
import { CONTOSO_TENANT_ID, SEEDED, SEEDED_APP } from "../src/seed.ts";
import { type Sandbox, startSandbox } from "../src/server.ts";
import { Browser, type FetchLike, REDIRECT_URI, signInAndConsent } from "./identity-helpers.ts";

let sb: Sandbox;
let ca: string;
let caDir: string;
before(async () => {
  caDir = mkdtempSync(join(tmpdir(), "sandbox-ca-"));
  const certs = ensureLocalCertificates(caDir);
  ca = readFileSync(certs.caCertPath, "utf8");
  sb = await startSandbox({ port: 0, seedCorpus: false, https: { key: certs.key, cert: certs.cert } });
});
after(async () => {
  await sb.close();
  rmSync(caDir, { recursive: true, force: true });
});

function httpsCall(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: Array<[string, string]>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const pairs: Array<[string, string]> = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          pairs.push([res.rawHeaders[i] ?? "", res.rawHeaders[i + 1] ?? ""]);
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: pairs,
          body: Buffer.concat(chunks).toString("utf8"),
        });
      });
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** A fetch over node:https that trusts the sandbox CA (for the browser part). */
const httpsFetch: FetchLike = async (url, init) => {
  const res = await httpsCall(
    url,
    init.method ?? "GET",
    init.headers as Record<string, string>,
    typeof init.body === "string" ? init.body : undefined,
  );
  return new Response(res.status === 204 || res.status === 304 ? null : res.body, {
    status: res.status,
    headers: res.headers,
  });
};

/** msal's pluggable network client (`system.networkClient`), trusting the sandbox CA. */
const networkClient: INetworkModule = {
  async sendGetRequestAsync<T>(url: string, options?: { headers?: Record<string, string> }) {
    const res = await httpsCall(url, "GET", options?.headers ?? {});
    return {
      status: res.status,
      headers: Object.fromEntries(res.headers.map(([k, v]) => [k.toLowerCase(), v])),
      body: JSON.parse(res.body) as T,
    };
  },
  async sendPostRequestAsync<T>(url: string, options?: { headers?: Record<string, string>; body?: string }) {
    const res = await httpsCall(url, "POST", options?.headers ?? {}, options?.body);
    return {
      status: res.status,
      headers: Object.fromEntries(res.headers.map(([k, v]) => [k.toLowerCase(), v])),
      body: JSON.parse(res.body) as T,
    };
  },
};

test("msal-node with the sandbox as an https known authority completes the code flow and a refresh", async () => {
  const host = new URL(sb.url).host;
  const cca = new ConfidentialClientApplication({
    auth: {
      clientId: SEEDED_APP.clientId,
      clientSecret: SEEDED_APP.clientSecret,
      authority: `${sb.url}/common`,
      knownAuthorities: [host],
    },
    system: { networkClient },
  });
  const scopes = ["https://graph.microsoft.com/Mail.ReadWrite", "https://graph.microsoft.com/Mail.Send"];
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const authUrl = await cca.getAuthCodeUrl({
    scopes,
    redirectUri: REDIRECT_URI,
    codeChallenge: challenge,
    codeChallengeMethod: "S256",
  });
  assert.ok(authUrl.startsWith(`${sb.url}/common/oauth2/v2.0/authorize?`), authUrl);
  const page = await signInAndConsent(
    new Browser(sb.url, httpsFetch),
    authUrl,
    SEEDED.megan.email,
    SEEDED.megan.password,
  );
  const result = await cca.acquireTokenByCode({
    code: page.redirect?.searchParams.get("code") ?? "",
    scopes,
    redirectUri: REDIRECT_URI,
    codeVerifier: verifier,
  });
  assert.equal(result.account?.homeAccountId, `${SEEDED.megan.id}.${CONTOSO_TENANT_ID}`);
  assert.equal(sb.state.accessTokens.get(result.accessToken)?.userId, SEEDED.megan.id);
  const refreshed = await cca.acquireTokenSilent({
    account: result.account ?? assert.fail("no account"),
    scopes,
    forceRefresh: true,
  });
  assert.notEqual(refreshed.accessToken, result.accessToken);
});

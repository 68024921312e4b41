// The integration an operator could write in an afternoon instead of Mailroom's hosted wizard, for the
// `connect` scenario: Fastify and @azure/msal-node. `GET /connect` redirects to Microsoft's authorize
// page (PKCE, a random state); `GET /callback` redeems the code with msal (which reads the id_token's
// claims without checking its signature), reads `/me` and keeps the account in memory, then
// redirects. No API key, no link, no provider page, no database, no encryption, no first sync.
// Microsoft is the sandbox at SANDBOX_URL (its discovery document handed to msal, as in
// sandbox/test/identity-msal.test.ts); the app is the sandbox's seeded one.
import { Agent, request } from "node:http";
import { ConfidentialClientApplication, CryptoProvider } from "@azure/msal-node";
import Fastify from "fastify";

const port = Number(process.env.PORT ?? 0);
const sandbox = process.env.SANDBOX_URL ?? "";
const redirectUri = process.env.REDIRECT_URI ?? "";
const SCOPES = [
  "https://graph.microsoft.com/Mail.ReadWrite",
  "https://graph.microsoft.com/Mail.Send",
  "https://graph.microsoft.com/User.Read",
];

const metadata = await (await fetch(`${sandbox}/common/v2.0/.well-known/openid-configuration`)).text();
const msal = new ConfidentialClientApplication({
  auth: {
    clientId: process.env.CLIENT_ID ?? "",
    clientSecret: process.env.CLIENT_SECRET ?? "",
    authority: "https://login.microsoftonline.com/common",
    authorityMetadata: metadata,
  },
});
const crypto = new CryptoProvider();
const pending = new Map<string, string>();
const accounts = new Map<string, { email: string; accessToken: string }>();
const agent = new Agent({ keepAlive: true });

function me(accessToken: string): Promise<{ id: string; mail?: string; userPrincipalName?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${sandbox}/v1.0/me`,
      { headers: { authorization: `Bearer ${accessToken}` }, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          if (res.statusCode !== 200) reject(new Error(`/me: ${res.statusCode}`));
          else resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const app = Fastify({ logger: false });

app.get("/", async () => ({ accounts: accounts.size }));

app.get("/connect", async (_req, reply) => {
  const { verifier, challenge } = await crypto.generatePkceCodes();
  const state = crypto.createNewGuid();
  pending.set(state, verifier);
  const url = await msal.getAuthCodeUrl({
    scopes: SCOPES,
    redirectUri,
    codeChallenge: challenge,
    codeChallengeMethod: "S256",
    state,
  });
  return reply.redirect(url);
});

app.get<{ Querystring: { code?: string; state?: string } }>("/callback", async (req, reply) => {
  const verifier = pending.get(req.query.state ?? "");
  if (!verifier || !req.query.code) return reply.code(400).send({ error: "unknown state" });
  pending.delete(req.query.state ?? "");
  const result = await msal.acquireTokenByCode({
    code: req.query.code,
    scopes: SCOPES,
    redirectUri,
    codeVerifier: verifier,
  });
  const user = await me(result.accessToken);
  accounts.set(user.id, {
    email: user.mail ?? user.userPrincipalName ?? "",
    accessToken: result.accessToken,
  });
  return reply.redirect("https://app.example.com/ok");
});

await app.listen({ port, host: "127.0.0.1" });

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    app.close().then(() => process.exit(0));
  });
}

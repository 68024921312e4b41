// Complete mailbox connections per second through Mailroom (create link → wizard → Microsoft
// authorize → sign-in → callback → account stored) beside the sandbox-only cost of the same OAuth
// exchange (authorize → sign-in → code → token request) against the same sandbox, in the same run.
// Both are driven over HTTP by the same cookie-keeping client, with no browser; each connection uses
// a fresh client, so every one walks Microsoft's sign-in pages. A third side, reported without an aim:
// the integration an operator could write instead (bench/connect-integration-server.ts, msal-node, in
// its own process), its redirects followed by the same client.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SEED_PASSWORD, SEEDED_APP, SEEDED_USERS } from "../../sandbox/src/seed.ts";
import {
  authorizeUrl,
  Browser,
  pkcePair,
  signInAndConsent,
  tokenRequest,
} from "../../sandbox/test/identity-helpers.ts";
import { connectMailbox } from "../lib/connect.ts";
import { cleanEnv, freePort, REPO_ROOT, runCommand, spawnChild, waitFor200 } from "../lib/processes.ts";
import type { Scenario } from "../lib/scenario.ts";
import { median, round } from "../lib/stats.ts";

const CONCURRENCY = 4;

async function measure(
  durationS: number,
  once: (i: number) => Promise<void>,
): Promise<{ perS: number; p50Ms: number; p99Ms: number; n: number }> {
  const latencies: number[] = [];
  const end = performance.now() + durationS * 1000;
  let i = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await once(i++);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perS: round(latencies.length / elapsedS, 1),
    p50Ms: round(median(latencies), 1),
    p99Ms: round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0, 1),
    n: latencies.length,
  };
}

export const connect: Scenario = {
  name: "connect",
  describe:
    "connections/s through link → wizard → sign-in → callback → account vs the sandbox-only OAuth exchange",
  async run(settings, log) {
    const dataDir = await mkdtemp(join(tmpdir(), "mailroom-bench-connect-"));
    const port = await freePort();
    const sandboxPort = await freePort();
    const bin = join(REPO_ROOT, "bin/mailroom.js");
    const env = cleanEnv({
      DATA_DIR: dataDir,
      PORT: String(port),
      SANDBOX_PORT: String(sandboxPort),
      LOG_LEVEL: "warn",
      LOG_FORMAT: "json",
    });
    const out = await runCommand(process.execPath, [bin, "api-key", "create", "--name", "bench"], { env });
    const key = /^\s+(mr_\S+)\s*$/m.exec(out)?.[1];
    if (!key) throw new Error(`no API key in: ${out}`);
    const child = spawnChild("mailroom", process.execPath, [...settings.subjectNodeFlags, bin, "start"], {
      env,
    });
    let integrationChild: ReturnType<typeof spawnChild> | undefined;
    try {
      await waitFor200(child, port, "/ready", { timeoutMs: 60_000 });
      const base = `http://localhost:${port}`;
      const sandbox = `http://localhost:${sandboxPort}`;
      const users = SEEDED_USERS.filter(
        (u) => u.kind === "work" && u.hasMailbox && u.email.includes("contoso"),
      );

      const viaMailroom = async (i: number) => {
        const user = users[i % users.length]!;
        await connectMailbox({ mailroomUrl: base, sandboxUrl: sandbox, apiKey: key, email: user.email });
      };
      const sandboxOnly = async (i: number) => {
        const user = users[i % users.length]!;
        const { verifier, challenge } = pkcePair();
        const page = await signInAndConsent(
          new Browser(sandbox),
          authorizeUrl(sandbox, { code_challenge: challenge, code_challenge_method: "S256" }),
          user.email,
          SEED_PASSWORD,
        );
        const code = page.redirect?.searchParams.get("code");
        if (!code) throw new Error("sandbox sign-in returned no code");
        const token = await tokenRequest(sandbox, {
          client_id: SEEDED_APP.clientId,
          client_secret: SEEDED_APP.clientSecret,
          grant_type: "authorization_code",
          code,
          redirect_uri: SEEDED_APP.redirectUris[1],
          code_verifier: verifier,
        });
        if (token.status !== 200) throw new Error(`token request failed: ${JSON.stringify(token.body)}`);
      };

      // Warm both paths (first sign-in per user asks for consent), then alternate measured rounds.
      const integrationPort = await freePort();
      integrationChild = spawnChild(
        "integration",
        process.execPath,
        ["--import", "tsx", join(REPO_ROOT, "bench/connect-integration-server.ts")],
        {
          env: cleanEnv({
            PORT: String(integrationPort),
            SANDBOX_URL: sandbox,
            REDIRECT_URI: SEEDED_APP.redirectUris[1]!,
            CLIENT_ID: SEEDED_APP.clientId,
            CLIENT_SECRET: SEEDED_APP.clientSecret,
          }),
        },
      );
      await waitFor200(integrationChild, integrationPort, "/", { timeoutMs: 30_000 });
      const integrationBase = `http://127.0.0.1:${integrationPort}`;
      const viaIntegration = async (i: number) => {
        const user = users[i % users.length]!;
        const start = await fetch(`${integrationBase}/connect`, { redirect: "manual" });
        const authUrl = start.headers.get("location");
        if (start.status !== 302 || !authUrl) throw new Error(`integration /connect: ${start.status}`);
        const page = await signInAndConsent(new Browser(sandbox), authUrl, user.email, SEED_PASSWORD);
        if (!page.redirect?.searchParams.get("code")) throw new Error("sandbox sign-in returned no code");
        const done = await fetch(`${integrationBase}/callback${page.redirect.search}`, {
          redirect: "manual",
        });
        if (done.status !== 302)
          throw new Error(`integration /callback: ${done.status} ${await done.text()}`);
      };

      for (let i = 0; i < users.length; i++) {
        await viaMailroom(i);
        await sandboxOnly(i);
        await viaIntegration(i);
      }
      const mailroom: Awaited<ReturnType<typeof measure>>[] = [];
      const direct: Awaited<ReturnType<typeof measure>>[] = [];
      const integration: Awaited<ReturnType<typeof measure>>[] = [];
      const sides = [
        () => measure(settings.durationS, sandboxOnly).then((r) => direct.push(r)),
        () => measure(settings.durationS, viaMailroom).then((r) => mailroom.push(r)),
        () => measure(settings.durationS, viaIntegration).then((r) => integration.push(r)),
      ];
      for (let round_ = 0; round_ < settings.rounds; round_++) {
        log(`connect: round ${round_ + 1}/${settings.rounds}`);
        // Each side takes each place in the order in turn.
        for (let i = 0; i < sides.length; i++) await sides[(i + round_) % sides.length]!();
      }
      const pick = (runs: typeof mailroom) => ({
        perS: median(runs.map((r) => r.perS)),
        p50Ms: median(runs.map((r) => r.p50Ms)),
        p99Ms: median(runs.map((r) => r.p99Ms)),
        n: runs.reduce((sum, r) => sum + r.n, 0),
      });
      const m = pick(mailroom);
      const d = pick(direct);
      const n = pick(integration);
      const ratio = round(m.perS / d.perS, 2);
      const vsIntegration = round(m.perS / n.perS, 2);
      return {
        status: "ok",
        table: {
          title: `connect — ${CONCURRENCY} concurrent users, ${settings.rounds} × ${settings.durationS}s each, medians`,
          columns: ["path", "connections/s", "p50 ms", "p99 ms", "completed"],
          rows: [
            [
              "through Mailroom (link → wizard → sign-in → callback → account)",
              m.perS,
              m.p50Ms,
              m.p99Ms,
              m.n,
            ],
            ["sandbox only (authorize → sign-in → token)", d.perS, d.p50Ms, d.p99Ms, d.n],
            ["an msal-node integration (connect → sign-in → callback → /me)", n.perS, n.p50Ms, n.p99Ms, n.n],
          ],
          notes: [
            `ratio Mailroom/sandbox-only: ${ratio} (aim ≥ 0.5)`,
            `ratio Mailroom/msal-node integration: ${vsIntegration} (no aim)`,
          ],
        },
        data: {
          mailroom: m,
          sandboxOnly: d,
          integration: n,
          ratio,
          vsIntegration,
          rounds: { mailroom, direct, integration },
        },
      };
    } finally {
      await integrationChild?.stop();
      await child.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};

// Mailroom beside the Microsoft sandbox in its own process, started as an operator runs it against
// Microsoft: `bin/mailroom.js start` with SANDBOX=off and MICROSOFT_LOGIN_URL/MICROSOFT_GRAPH_URL at
// the sandbox, the seeded app set with `mailroom settings microsoft`, and the redirect URIs Mailroom
// prints registered through the sandbox's admin API (standing in for Azure's app registration). So
// Mailroom's work and the sandbox's (Microsoft's) work do not share one event loop, and a profile or a
// CPU reading of the Mailroom child is Mailroom's alone.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SEEDED_APP } from "../../sandbox/src/seed.ts";
import {
  type Child,
  cleanEnv,
  freePort,
  REPO_ROOT,
  runCommand,
  spawnChild,
  waitFor200,
} from "./processes.ts";
import { firstJsonLine } from "./targets.ts";

export interface MailroomBesideSandbox {
  mailroomBase: string;
  sandboxBase: string;
  port: number;
  sandboxPort: number;
  apiKey: string;
  child: Child;
  sandboxChild: Child;
  stop(): Promise<void>;
}

export async function startMailroomBesideSandbox(options: {
  /** Node flags of the Mailroom child (the sandbox is never profiled). */
  nodeFlags: string[];
  /** Added to Mailroom's environment. */
  env?: Record<string, string>;
  /** Added to the sandbox's environment (bench/sandbox-server.ts). */
  sandboxEnv?: Record<string, string>;
}): Promise<MailroomBesideSandbox> {
  const dataDir = await mkdtemp(join(tmpdir(), "mailroom-bench-"));
  const port = await freePort();
  const sandboxPort = await freePort();
  const bin = join(REPO_ROOT, "bin/mailroom.js");
  // PUBLIC_URL defaults to localhost: the OAuth redirect URI and the wizard's cookies use that host.
  const mailroomBase = `http://localhost:${port}`;
  const sandboxBase = `http://localhost:${sandboxPort}`;
  const sandboxChild = spawnChild(
    "sandbox",
    process.execPath,
    ["--import", "tsx", join(REPO_ROOT, "bench/sandbox-server.ts")],
    { env: cleanEnv({ PORT: String(sandboxPort), SANDBOX_BASE_URL: sandboxBase, ...options.sandboxEnv }) },
  );
  const env = cleanEnv({
    DATA_DIR: dataDir,
    PORT: String(port),
    SANDBOX: "off",
    MICROSOFT_LOGIN_URL: sandboxBase,
    MICROSOFT_GRAPH_URL: sandboxBase,
    LOG_LEVEL: "warn",
    LOG_FORMAT: "json",
    ...options.env,
  });
  let child: Child | undefined;
  const stop = async () => {
    await child?.stop();
    await sandboxChild.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const ready = await firstJsonLine(sandboxChild, 60_000);
    if ("error" in ready) throw new Error(`sandbox did not start: ${String(ready.error)}`);
    const out = await runCommand(process.execPath, [bin, "api-key", "create", "--name", "bench"], { env });
    const apiKey = /^\s+(mr_\S+)\s*$/m.exec(out)?.[1];
    if (!apiKey) throw new Error(`no API key in: ${out}`);
    const configured = await runCommand(
      process.execPath,
      [bin, "settings", "microsoft", "--client-id", SEEDED_APP.clientId, "--client-secret-stdin"],
      { env, input: SEEDED_APP.clientSecret },
    );
    const redirectUris = [...configured.matchAll(/^\s+(https?:\/\/\S+)\s*$/gm)].map((m) => m[1]!);
    if (redirectUris.length === 0) throw new Error(`no redirect URIs in: ${configured}`);
    const patched = await fetch(`${sandboxBase}/_sandbox/apps/${SEEDED_APP.clientId}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ redirect_uris: [...new Set([...SEEDED_APP.redirectUris, ...redirectUris])] }),
    });
    if (!patched.ok) throw new Error(`the sandbox refused the redirect URIs: ${await patched.text()}`);
    child = spawnChild("mailroom", process.execPath, [...options.nodeFlags, bin, "start"], { env });
    await waitFor200(child, port, "/ready", { timeoutMs: 60_000 });
    return { mailroomBase, sandboxBase, port, sandboxPort, apiKey, child, sandboxChild, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

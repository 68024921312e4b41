#!/usr/bin/env node
// Launcher: composes Mailroom with the Microsoft sandbox (src/ never imports sandbox/; this file is
// where the two meet). Runs the bundle in dist/ when it is up to date (built by `npm install` and
// `npm start`), else compiles the TypeScript sources on the fly with tsx.
import { existsSync } from "node:fs";
import { isBundleFresh } from "../scripts/build.mjs";

// A .env file in the working directory is read like the environment (variables already set win).
if (existsSync(".env")) process.loadEnvFile(".env");

let cli;
let sandboxModule;
if (isBundleFresh()) {
  cli = await import("../dist/cli.mjs");
  sandboxModule = () => import("../dist/sandbox.mjs");
} else {
  const { register } = await import("tsx/esm/api");
  register();
  cli = await import("../src/main/cli.ts");
  sandboxModule = () => import("../sandbox/src/index.ts");
}

async function startSandbox({ port, host, redirectUris }) {
  const { startSandbox: start, SEEDED_APP } = await sandboxModule();
  // http notification URLs allowed: the launched sandbox is a local emulator beside a Mailroom that
  // listens on http, so GRAPH_SUBSCRIPTIONS=on can be tried (and benchmarked) without TLS.
  const sandbox = await start({
    port,
    host,
    baseUrl: `http://localhost:${port}`,
    allowHttpNotifications: true,
  });
  // Register Mailroom's redirect URIs on the sandbox's app through its admin API, as an operator does in Azure.
  const patched = await fetch(`${sandbox.url}/_sandbox/apps/${SEEDED_APP.clientId}`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ redirect_uris: [...new Set([...SEEDED_APP.redirectUris, ...redirectUris])] }),
  });
  if (!patched.ok) throw new Error(`The sandbox refused Mailroom's redirect URIs: ${await patched.text()}`);
  const app = sandbox.state.apps.get(SEEDED_APP.clientId);
  const users = [...sandbox.state.users.values()].map((u) => ({
    email: u.email,
    password: u.password,
    kind: u.kind,
  }));
  return {
    url: sandbox.url,
    users,
    app: {
      clientId: SEEDED_APP.clientId,
      clientSecret: SEEDED_APP.clientSecret,
      secretExpiresAt: app?.secrets[0]?.expiresAt ?? Date.now() + 365 * 86_400_000,
      name: SEEDED_APP.name,
    },
    close: () => sandbox.close(),
  };
}

function extend(program) {
  program
    .command("sandbox")
    .description("Run the Microsoft sandbox alone (a local emulator of Microsoft sign-in and Graph mail).")
    .option("--port <port>", "port to listen on", "3001")
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .option("--https", "serve https with a generated local CA (its path is printed)")
    .option("--state-file <path>", "persist sandbox state to this file")
    .option("--ca-dir <path>", "where the generated local CA and certificate are kept (with --https)")
    .action(async () => {
      const { runSandboxCli } = await sandboxModule();
      await runSandboxCli(process.argv.slice(3));
    });
}

const code = await cli.runCli(process.argv.slice(2), { startSandbox, extend });
if (code !== 0) process.exit(code);

#!/usr/bin/env node
// Launcher: loads the TypeScript sources through tsx and composes Mailroom with the Microsoft sandbox
// (src/ never imports sandbox/; this file is where the two meet).
import { existsSync } from "node:fs";
import { register } from "tsx/esm/api";

// A .env file in the working directory is read like the environment (variables already set win).
if (existsSync(".env")) process.loadEnvFile(".env");

register();

const { runCli } = await import("../src/main/cli.ts");

async function startSandbox({ port, host }) {
  const { startSandbox: start } = await import("../sandbox/src/server.ts");
  const sandbox = await start({ port, host, baseUrl: `http://localhost:${port}` });
  const users = [...sandbox.state.users.values()].map((u) => ({
    email: u.email,
    password: u.password,
    kind: u.kind,
  }));
  return { url: sandbox.url, users, close: () => sandbox.close() };
}

function extend(program) {
  program
    .command("sandbox")
    .description("Run the Microsoft sandbox alone (a local emulator of Microsoft sign-in and Graph mail).")
    .option("--port <port>", "port to listen on", "3001")
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .option("--https", "serve https with a generated local CA (its path is printed)")
    .option("--state-file <path>", "persist sandbox state to this file")
    .allowUnknownOption(false)
    .action(async () => {
      const { runSandboxCli } = await import("../sandbox/src/cli.ts");
      await runSandboxCli(process.argv.slice(3));
    });
}

const code = await runCli(process.argv.slice(2), { startSandbox, extend });
if (code !== 0) process.exit(code);

// `npx mailroom sandbox [--port N] [--host H] [--https] [--state-file PATH] [--ca-dir DIR]`:
// runs the Microsoft sandbox alone and prints how to point Mailroom (or anything else) at it.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { provisionMailbox } from "./graph/routes.ts";
import { ensureLocalCertificates } from "./local-ca.ts";
import { loadState, saveState } from "./persistence.ts";
import { type Sandbox, startSandbox } from "./server.ts";

export const DEFAULT_SANDBOX_PORT = 3001;
export const DEFAULT_CA_DIR = "./data/sandbox-ca";
const SAVE_INTERVAL_MS = 5_000;

export interface SandboxCliOptions {
  port: number;
  host: string;
  https: boolean;
  stateFile: string | null;
  caDir: string;
}

const USAGE = `Usage: mailroom sandbox [--port N] [--host H] [--https] [--state-file PATH] [--ca-dir DIR]

  --port N           port to listen on (default ${DEFAULT_SANDBOX_PORT}; 0 = any free port)
  --host H           interface to bind (default 127.0.0.1)
  --https            serve https with a local CA generated once in --ca-dir
  --state-file PATH  keep users, apps, consents and tokens in this JSON file across restarts
  --ca-dir DIR       where the local CA and server certificate live (default ${DEFAULT_CA_DIR})`;

export function parseSandboxArgs(argv: string[]): SandboxCliOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      https: { type: "boolean" },
      "state-file": { type: "string" },
      "ca-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const port = values.port === undefined ? DEFAULT_SANDBOX_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`--port must be a whole number from 0 to 65535 (got "${values.port}")`);
  }
  return {
    port,
    host: values.host ?? "127.0.0.1",
    https: values.https ?? false,
    stateFile: values["state-file"] ? resolve(values["state-file"]) : null,
    caDir: values["ca-dir"] ?? DEFAULT_CA_DIR,
  };
}

export interface RunningSandbox {
  sandbox: Sandbox;
  caCertPath: string | null;
  /** Saves state (if --state-file) and closes the server. Idempotent. */
  stop(): Promise<void>;
}

/** Starts the sandbox as the CLI would, without signal handling (tests drive it directly). */
export async function startSandboxFromCli(
  options: SandboxCliOptions,
  print: (line: string) => void = console.log,
): Promise<RunningSandbox> {
  const certificates = options.https ? ensureLocalCertificates(options.caDir, options.host) : null;
  if (certificates?.createdCa) print(`Created a local certificate authority in ${resolve(options.caDir)}`);
  const publicHost = options.host === "0.0.0.0" || options.host === "::" ? "localhost" : options.host;
  const scheme = options.https ? "https" : "http";
  const sandbox = await startSandbox({
    port: options.port,
    host: options.host,
    ...(options.port !== 0 ? { baseUrl: `${scheme}://${publicHost}:${options.port}` } : {}),
    ...(certificates ? { https: { key: certificates.key, cert: certificates.cert } } : {}),
  });
  const restored = options.stateFile ? loadState(sandbox.state, options.stateFile) : false;
  // Users added through the admin API in an earlier run come back without mail (mailboxes are not saved).
  if (restored) for (const user of sandbox.state.users.values()) provisionMailbox(sandbox.state, user);
  const save = (): void => {
    if (options.stateFile) saveState(sandbox.state, options.stateFile);
  };
  const saver = options.stateFile ? setInterval(save, SAVE_INTERVAL_MS) : null;
  saver?.unref();
  let stopped: Promise<void> | null = null;

  printBanner(sandbox, options, certificates?.caCertPath ?? null, restored, print);
  return {
    sandbox,
    caCertPath: certificates?.caCertPath ?? null,
    stop() {
      stopped ??= (async () => {
        if (saver) clearInterval(saver);
        save();
        await sandbox.close();
      })();
      return stopped;
    },
  };
}

function printBanner(
  sandbox: Sandbox,
  options: SandboxCliOptions,
  caCertPath: string | null,
  restored: boolean,
  print: (line: string) => void,
): void {
  const users = [...sandbox.state.users.values()];
  const width = Math.max(5, ...users.map((u) => u.email.length));
  print(`Microsoft sandbox listening on ${sandbox.url}`);
  print(`  login host: ${sandbox.url}/{common|organizations|consumers|<tenant>}/oauth2/v2.0/authorize`);
  print(`  Graph:      ${sandbox.url}/v1.0`);
  if (options.stateFile) print(`  state file: ${options.stateFile}${restored ? " (restored)" : " (new)"}`);
  print("");
  print("Sandbox users (sign in with these):");
  for (const user of users) {
    const notes = [user.kind, user.hasMailbox ? "" : "no mailbox"].filter(Boolean).join(", ");
    print(`  ${user.email.padEnd(width)}  ${user.password}  (${notes})`);
  }
  print("");
  print("App registrations:");
  for (const app of sandbox.state.apps.values()) {
    const secret = app.secrets[0];
    print(`  ${app.name}: client id ${app.clientId}${secret ? `, secret ${secret.value}` : ""}`);
  }
  print("");
  print("Point Mailroom at it (in .env or the environment):");
  print(`  MICROSOFT_LOGIN_URL=${sandbox.url}`);
  print(`  MICROSOFT_GRAPH_URL=${sandbox.url}`);
  print("  SANDBOX=off");
  if (caCertPath) {
    print("");
    print("Trust the local CA in Node.js clients (Mailroom, msal-node, graph-client):");
    print(`  NODE_EXTRA_CA_CERTS=${caCertPath}`);
  }
}

/** Entry point for `mailroom sandbox …`: runs until SIGINT/SIGTERM, then saves state and exits. */
export async function runSandboxCli(argv: string[]): Promise<void> {
  let options: SandboxCliOptions | "help";
  try {
    options = parseSandboxArgs(argv);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options === "help") {
    console.log(USAGE);
    return;
  }
  const running = await startSandboxFromCli(options);
  await new Promise<void>((resolveStop) => {
    const shutdown = (signal: NodeJS.Signals): void => {
      process.off("SIGINT", shutdown);
      process.off("SIGTERM", shutdown);
      console.log(
        `\n${signal} received, stopping the sandbox${options.stateFile ? " and saving its state" : ""}…`,
      );
      running.stop().then(resolveStop, (error: unknown) => {
        console.error(error);
        process.exitCode = 1;
        resolveStop();
      });
    };
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
  });
}

// `npx mailroom …` — every command parses config once and reports problems in plain words.

import { existsSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { KeySetupError, keyFilePath, readKeyFile, writeCanary, writeKeyFile } from "../app/keyring.ts";
import { RedisSetupError } from "../app/redis-setup-error.ts";
import { buildServices, type Services } from "../app/services.ts";
import { type Config, ConfigError, loadConfig, processEnvironment } from "../config/config.ts";
import { reencryptAll } from "../domain/secrets/key-rotation.service.ts";
import { delegatedPermissions } from "../domain/settings/microsoft-settings.service.ts";
import { generateKey, Keyring } from "../lib/crypto.ts";
import { AppError } from "../lib/errors.ts";
import { createLogger, type Logger } from "../lib/logger.ts";
import { StorageError } from "../storage/db.ts";
import { type SandboxStarter, startServer } from "./server.ts";

export interface CliDeps {
  env?: Record<string, string | undefined>;
  startSandbox?: SandboxStarter;
  /** Extra commands contributed by the launcher (e.g. `sandbox`). */
  extend?: (program: Command) => void;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

class CliFailure extends Error {}

export async function runCli(argv: string[], deps: CliDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((t: string) => process.stdout.write(t));
  const err = deps.stderr ?? ((t: string) => process.stderr.write(t));
  const env = deps.env ?? processEnvironment();

  const config = (): Config => loadConfig(env);
  const cliLogger = (cfg: Config): Logger =>
    createLogger({
      level: env.LOG_LEVEL ? cfg.logLevel : "warn",
      destination: process.stderr as never,
      pretty: cfg.logFormat !== "json",
    });

  async function withServices<T>(
    fn: (services: Services) => Promise<T>,
    options = { migrate: true },
  ): Promise<T> {
    const cfg = config();
    const services = await buildServices(cfg, cliLogger(cfg), { migrate: options.migrate });
    try {
      return await fn(services);
    } finally {
      await services.close();
    }
  }

  const program = new Command()
    .name("mailroom")
    .description(
      "Mailroom: a self-hosted email API for Microsoft accounts, compatible with Unipile's v1 API.",
    )
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: out, writeErr: err });

  program
    .command("start")
    .description(
      "Start the server (API, hosted auth, dashboard) with migrations applied; runs the Microsoft sandbox unless SANDBOX=off.",
    )
    .action(async () => {
      const cfg = config();
      // The banner goes to stdout too: if its reader is gone (EPIPE), Mailroom carries on unheard.
      process.stdout.on("error", () => {});
      const log = createLogger({
        level: cfg.logLevel,
        pretty: cfg.logFormat ? cfg.logFormat === "pretty" : process.stdout.isTTY === true,
      });
      const options: Parameters<typeof startServer>[2] = {};
      if (deps.startSandbox) options.startSandbox = deps.startSandbox;
      await startServer(cfg, log, options);
      await new Promise<void>(() => {}); // runs until a signal ends the process
    });

  program
    .command("migrate")
    .description("Apply pending database migrations and exit.")
    .action(async () => {
      await withServices(async (s) => {
        out(`Database is up to date (${s.storage.dialect}: ${s.storage.location}).\n`);
      });
    });

  const apiKey = program
    .command("api-key")
    .description("Manage API keys for /api/v1 (sent as the X-API-KEY header).");
  apiKey
    .command("create")
    .description("Create an API key and print it once.")
    .requiredOption("--name <name>", "a name to recognise the key by, e.g. the backend that uses it")
    .action(async (opts: { name: string }) => {
      await withServices(async (s) => {
        const { key, summary } = await s.apiKeys.create(opts.name);
        out(
          `Created API key "${summary.name}" (id ${summary.id}).\n\n  ${key}\n\nStore it now: it is shown only once.\n`,
        );
      });
    });
  apiKey
    .command("list")
    .description("List API keys (never the keys themselves).")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      await withServices(async (s) => {
        const keys = await s.apiKeys.list();
        if (opts.json) return out(`${JSON.stringify(keys, null, 2)}\n`);
        if (keys.length === 0)
          return out("No API keys yet. Create one with: npx mailroom api-key create --name NAME\n");
        const iso = (t: number | null) =>
          t === null ? "-" : new Date(t).toISOString().slice(0, 19).replace("T", " ");
        out(
          `${"ID".padEnd(24)}${"NAME".padEnd(24)}${"PREFIX".padEnd(12)}${"CREATED".padEnd(21)}${"LAST USED".padEnd(21)}STATUS\n`,
        );
        for (const k of keys) {
          out(
            `${k.id.padEnd(24)}${k.name.slice(0, 22).padEnd(24)}${k.prefix.padEnd(12)}${iso(k.createdAt).padEnd(21)}${iso(k.lastUsedAt).padEnd(21)}${k.revokedAt ? "revoked" : "active"}\n`,
          );
        }
      });
    });
  apiKey
    .command("revoke")
    .description("Revoke an API key by id (or by name when unique); requests with it get 401 at once.")
    .argument("<id-or-name>")
    // Ids are base64url and may start with "-": never read one as an option.
    .allowUnknownOption(true)
    .action(async (idOrName: string) => {
      await withServices(async (s) => {
        const summary = await s.apiKeys.revoke(idOrName);
        out(`Revoked API key "${summary.name}" (id ${summary.id}).\n`);
      });
    });

  const admin = program.command("admin").description("Manage the dashboard's admin accounts.");
  admin
    .command("create")
    .description(
      "Print a one-time link to create a dashboard admin: the first admin on a fresh install (valid until used), or an invitation for another (valid 7 days).",
    )
    .option("--email <email>", "the invited admin's email (they cannot change it)")
    .action(async (opts: { email?: string }) => {
      await withServices(async (s) => {
        const link = await s.admins.createLink({ email: opts.email });
        out(
          link.kind === "setup"
            ? `Open this link to create the first admin account (it works once):\n\n  ${link.url}\n`
            : `Send this invitation to the new admin (it works once, until ${new Date(link.expiresAt!).toISOString().slice(0, 16).replace("T", " ")} UTC):\n\n  ${link.url}\n`,
        );
      });
    });

  const settings = program
    .command("settings")
    .description("Show or change runtime settings stored in the database.");
  settings
    .command("microsoft")
    .description(
      "Set the Azure app Mailroom signs users in with, check it against Microsoft's token endpoint, and print the redirect URIs to register. Without options, shows the current settings.",
    )
    .option("--client-id <id>", "Application (client) ID from Azure → App registrations → Overview")
    .option(
      "--client-secret-stdin",
      "read the client secret's Value from standard input (keeps it out of shell history)",
    )
    .option(
      "--secret-expires <date>",
      "the secret's expiry date as Azure shows it (YYYY-MM-DD), for expiry warnings",
    )
    .option("--audience <audience>", "common (default), organizations, consumers or a tenant id")
    .option("--display-name <name>", "product name shown to end users in the connect wizard")
    .option(
      "--shared-mailboxes <on|off>",
      "let connected users open shared mailboxes (sign-in also asks for Mail.ReadWrite.Shared and Mail.Send.Shared); other settings unchanged",
    )
    .action(
      async (opts: {
        clientId?: string;
        clientSecretStdin?: boolean;
        secretExpires?: string;
        audience?: string;
        displayName?: string;
        sharedMailboxes?: string;
      }) => {
        const shared = opts.sharedMailboxes?.toLowerCase();
        if (shared !== undefined && shared !== "on" && shared !== "off")
          throw new CliFailure(`--shared-mailboxes must be on or off (got "${opts.sharedMailboxes}").`);
        await withServices(async (s) => {
          if (opts.clientId) {
            let secret: string | undefined;
            if (opts.clientSecretStdin) {
              secret = (await readStdin()).trim();
              if (!secret)
                throw new CliFailure("--client-secret-stdin was given but standard input was empty.");
            }
            let expiresAt: number | undefined;
            if (opts.secretExpires) {
              expiresAt = Date.parse(`${opts.secretExpires}T23:59:59Z`);
              if (!/^\d{4}-\d{2}-\d{2}$/.test(opts.secretExpires) || Number.isNaN(expiresAt)) {
                throw new CliFailure(
                  `--secret-expires must be a date like 2027-06-30 (got "${opts.secretExpires}").`,
                );
              }
            }
            const saved = await s.microsoftSettings.save({
              clientId: opts.clientId,
              clientSecret: secret,
              secretExpiresAt: expiresAt,
              audience: opts.audience,
              displayName: opts.displayName,
              sharedMailboxes: shared === undefined ? undefined : shared === "on",
            });
            const check = saved.check!;
            out(
              `Saved. Credential check: ${check.result === "valid" ? "OK" : check.result}\n  ${check.message}\n`,
            );
            if (check.fix) out(`  Fix: ${check.fix}\n`);
          } else if (opts.clientSecretStdin || opts.secretExpires || opts.audience || opts.displayName) {
            throw new CliFailure("--client-id is required when changing the Microsoft settings.");
          } else if (shared !== undefined) {
            await s.microsoftSettings.setSharedMailboxes(shared === "on");
            out(`Saved. Shared mailboxes: ${shared}.\n`);
          }
          const current = await s.microsoftSettings.get();
          out("\nMicrosoft OAuth\n");
          if (!current) {
            out(
              "  Not configured. Run: npx mailroom settings microsoft --client-id <id> --client-secret-stdin < secret.txt\n",
            );
          } else {
            const day = (t: number) => new Date(t).toISOString().slice(0, 10);
            out(`  Client ID:      ${current.clientId}\n`);
            out(`  Client secret:  ${current.hasSecret ? "set (never shown)" : "missing"}\n`);
            out(
              `  Secret expires: ${current.secretExpiresAt ? day(current.secretExpiresAt) : "unknown (set --secret-expires)"}\n`,
            );
            out(`  Audience:       ${current.audience}\n`);
            out(`  Shared mailboxes: ${current.sharedMailboxes ? "on" : "off"}\n`);
            out(
              `  Last check:     ${current.check ? `${current.check.result} (${new Date(current.check.checkedAt).toISOString()})` : "never"}\n`,
            );
            if (current.appProblem) out(`  Problem:        ${current.appProblem.message}\n`);
            const warning = await s.microsoftSettings.secretExpiryWarning();
            if (warning) {
              out(
                warning.daysLeft < 0
                  ? "  WARNING: the client secret has expired. Create a new one in Azure and save it here.\n"
                  : `  WARNING: the client secret expires in ${warning.daysLeft} day(s). Create a new one in Azure and save it here before then.\n`,
              );
            }
          }
          out(
            "\nRegister these redirect URIs in Azure → App registrations → your app → Authentication (platform: Web):\n",
          );
          for (const uri of s.hostedAuth.redirectUris()) out(`  ${uri}\n`);
          const permissions = delegatedPermissions(current?.sharedMailboxes === true).join(", ");
          out(
            `\nSupported account types: Accounts in any organizational directory and personal Microsoft accounts.\nDelegated Microsoft Graph permissions: ${permissions} (Mailroom also requests offline_access, openid, profile, email, User.Read).\n`,
          );
        });
      },
    );

  const keys = program
    .command("keys")
    .description("Manage the encryption keys that protect stored tokens and secrets.");
  keys
    .command("rotate")
    .description(
      "Re-encrypt every stored secret under a new key. With a key file, a new key is generated and the old one kept for reading; with MAILROOM_ENCRYPTION_KEY, put the new key first in the list, then run this.",
    )
    .action(async () => {
      const cfg = config();
      await withServices(async (s) => {
        let keyring: Keyring;
        if (cfg.encryptionKeys) {
          keyring = Keyring.fromBase64List(cfg.encryptionKeys);
          out(`Re-encrypting under key ${keyring.primaryId} (the first key of MAILROOM_ENCRYPTION_KEY).\n`);
        } else {
          const path = keyFilePath(cfg);
          if (!existsSync(path)) throw new CliFailure(`No key file at ${path}.`);
          // New key first; every older key stays so running processes and unfinished rows keep decrypting.
          writeKeyFile(path, [generateKey(), ...readKeyFile(path)]);
          s.secrets.reload();
          keyring = s.secrets.current;
          out(`Generated key ${keyring.primaryId} in ${path}; older keys are kept for reading.\n`);
        }
        const result = await reencryptAll(s.repos.secrets, keyring, (p) =>
          out(`  ${p.scanned} secrets checked, ${p.reencrypted} re-encrypted\n`),
        );
        await writeCanary(s.storage, keyring);
        out(
          `Done: ${result.reencrypted} re-encrypted, ${result.alreadyCurrent} already current${result.skippedConcurrentWrite ? `, ${result.skippedConcurrentWrite} changed meanwhile (run again to finish)` : ""}.\n`,
        );
        if (result.unreadable.length > 0) {
          throw new CliFailure(
            `${result.unreadable.length} stored secret(s) could not be decrypted with any configured key and were left as they are: ${result.unreadable.slice(0, 10).join(", ")}`,
          );
        }
      });
    });

  deps.extend?.(program);

  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ||
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.version"
        ? 0
        : 2;
    }
    err(`${describeFailure(error)}\n`);
    return 1;
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    process.stderr.write("Paste the client secret Value, then press Enter and Ctrl-D:\n");
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export function describeFailure(error: unknown): string {
  if (error instanceof ConfigError)
    return `Mailroom cannot start: ${error.message}\nSee .env.example for every variable.`;
  if (error instanceof RedisSetupError) return `Mailroom cannot start: ${error.message}`;
  if (error instanceof StorageError || error instanceof KeySetupError || error instanceof CliFailure) {
    return `Mailroom cannot continue: ${error.message}`;
  }
  if (error instanceof AppError) return `Error: ${error.detail ?? error.message}`;
  if ((error as NodeJS.ErrnoException)?.code === "EADDRINUSE") {
    return `Mailroom cannot start: ${(error as Error).message}. Another process uses that port; set PORT (or SANDBOX_PORT) to a free one.`;
  }
  return `Unexpected error: ${(error as Error)?.stack ?? String(error)}`;
}

// Every example a newcomer copies — the curl and `npx mailroom` commands in README.md's sh blocks and
// in the start-up banner, and the README's unipile-node-sdk snippet — runs against a Mailroom started
// as `npm start` starts it, and succeeds. A README block marked `<!-- example: not run (reason) -->`
// is skipped and counted; keep those few.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SEED_PASSWORD } from "../sandbox/src/seed.ts";
import { connectMeganOverHttp } from "./support/browser.ts";
import { BIN, type StartedMailroom, startMailroom } from "./support/cli.ts";
import { bannerCommands, codeBlocks, shellCommands } from "./support/examples.ts";

/** README blocks that may be skipped: their count is pinned so a new exception is a visible decision. */
const EXPECTED_NOT_RUN = 1;

/**
 * The one place placeholders get their values. The README writes the base URL as
 * http://localhost:3000 and the API key as `<key>` or `$KEY`; the SDK snippet reads
 * MAILROOM_API_KEY and MAILROOM_ACCOUNT_ID from the environment.
 */
function substitute(command: string, values: { base: string; key: string }): string {
  return command
    .replaceAll("http://localhost:3000", values.base)
    .replaceAll("<key>", values.key)
    .replace(/^npx mailroom /, `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} `);
}
function exampleEnv(values: { dataDir: string; key: string; accountId: string }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    DATA_DIR: values.dataDir,
    LOG_FORMAT: "json",
    KEY: values.key,
    MAILROOM_API_KEY: values.key,
    MAILROOM_ACCOUNT_ID: values.accountId,
  };
}

/** Commands that start, install or test Mailroom itself: this test does that by starting it. */
const RUNS_MAILROOM_ITSELF = /^(npm (install|start|test)\b|[A-Z_]+=\S+ npm start$)/;

function run(
  file: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${args.join(" ")} did not finish:\n${stdout}\n${stderr}`));
    }, 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs one shell command as pasted; curl commands report the HTTP status they got. */
async function runCommand(command: string, env: Record<string, string>): Promise<string | undefined> {
  const isCurl = command.startsWith("curl ");
  const script = isCurl ? `${command} -sS -w '\\nHTTP_STATUS %{http_code}\\n'` : command;
  const result = await run("bash", ["-c", script], env);
  const context = `${command}\n→ exit ${result.code}\n${result.stdout}\n${result.stderr}`;
  assert.equal(result.code, 0, context);
  if (!isCurl) return result.stdout;
  const status = Number(/HTTP_STATUS (\d+)\s*$/.exec(result.stdout)?.[1]);
  assert.ok(status >= 200 && status < 300, `expected a 2xx answer:\n${context}`);
  return result.stdout;
}

describe("README and banner examples run as written", () => {
  const readme = readFileSync("README.md", "utf8");
  const blocks = codeBlocks(readme);
  let mailroom: StartedMailroom;
  let dataDir: string;
  let base: string;
  let sandbox: string;
  let key: string;
  let accountId: string;
  let banner: string;

  before(async () => {
    // The banner ends with the sandbox's users; its log lines are kept out (warn level).
    mailroom = await startMailroom({
      env: { LOG_LEVEL: "warn" },
      readyWhen: /Set SANDBOX=off/,
      dataDirPrefix: "mailroom-examples-",
    });
    ({ base, sandbox, dataDir } = mailroom);
    banner = mailroom.output();

    // The README's first step: create an API key with the CLI.
    const createKey = blocks
      .flatMap((b) => (b.lang === "sh" && !b.notRun ? shellCommands(b.code) : []))
      .find((c) => c.startsWith("npx mailroom api-key create"));
    assert.ok(createKey, "the README shows how to create an API key");
    const created = await runCommand(
      substitute(createKey, { base, key: "" }),
      exampleEnv({ dataDir, key: "", accountId: "" }),
    );
    key = /^\s+(mr_[A-Za-z0-9_-]+)$/m.exec(created ?? "")?.[1] ?? "";
    assert.ok(key, `api-key create printed a key:\n${created}`);

    // A connected sandbox mailbox, for the examples that read and send mail.
    accountId = await connectMeganOverHttp(base, sandbox, key, SEED_PASSWORD);
  });

  after(() => mailroom?.stop("SIGKILL"));

  it("every curl and `npx mailroom` command in the README's sh blocks succeeds (2xx / exit 0)", async (t) => {
    let ran = 0;
    const notRun: string[] = [];
    for (const block of blocks.filter((b) => b.lang === "sh")) {
      for (const command of shellCommands(block.code)) {
        if (block.notRun) {
          notRun.push(`README.md:${block.line} ${command.split("\n")[0]} — ${block.notRun}`);
          continue;
        }
        if (RUNS_MAILROOM_ITSELF.test(command)) continue;
        assert.match(
          command,
          /^(curl|npx mailroom) /,
          `README.md:${block.line}: an example this test does not know how to run: ${command}`,
        );
        await runCommand(substitute(command, { base, key }), exampleEnv({ dataDir, key, accountId }));
        ran++;
      }
    }
    t.diagnostic(`ran ${ran} README commands; not run: ${notRun.length}\n${notRun.join("\n")}`);
    assert.ok(ran >= 3, `ran ${ran}`);
    assert.equal(
      blocks.filter((b) => b.notRun).length,
      EXPECTED_NOT_RUN,
      `README blocks marked "not run": ${notRun.join("; ")}`,
    );
  });

  it("every command the start-up banner suggests succeeds, with the banner's own URLs", async (t) => {
    const commands = bannerCommands(banner);
    assert.ok(
      commands.some((c) => c.includes("/api/v1/hosted/accounts/link")),
      `the banner shows how to connect a mailbox:\n${banner}`,
    );
    assert.ok(commands.some((c) => c.includes(`${base}/api/v1/accounts`)));
    for (const command of commands) {
      await runCommand(substitute(command, { base, key }), exampleEnv({ dataDir, key, accountId }));
    }
    t.diagnostic(`ran ${commands.length} banner commands`);
  });

  it("the README's unipile-node-sdk snippet lists and sends mail through Mailroom", async () => {
    const snippets = blocks.filter((b) => b.lang === "js" && b.code.includes("unipile-node-sdk"));
    assert.equal(snippets.length, 1);
    const dir = mkdtempSync(join(tmpdir(), "mailroom-sdk-example-"));
    try {
      const file = join(dir, "example.mjs");
      writeFileSync(
        file,
        substitute(snippets[0]!.code, { base, key }).replace(
          /from "unipile-node-sdk"/,
          `from ${JSON.stringify(import.meta.resolve("unipile-node-sdk"))}`,
        ),
      );
      const result = await run(process.execPath, [file], exampleEnv({ dataDir, key, accountId }));
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

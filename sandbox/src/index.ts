// Public entry of the Microsoft sandbox: start it in-process, build it for app.inject() tests,
// or run it as a standalone CLI.

export type { RunningSandbox, SandboxCliOptions } from "./cli.ts";
export { DEFAULT_SANDBOX_PORT, parseSandboxArgs, runSandboxCli, startSandboxFromCli } from "./cli.ts";
export type { CorpusMessage, LoadCorpusOptions } from "./corpus/index.ts";
export { loadCorpus } from "./corpus/index.ts";
export type { LocalCertificates } from "./local-ca.ts";
export { ensureLocalCertificates } from "./local-ca.ts";
export { loadState, saveState } from "./persistence.ts";
export { SEEDED_APP, SEEDED_USERS } from "./seed.ts";
export type { Sandbox, StartSandboxOptions } from "./server.ts";
export { buildSandboxApp, startSandbox } from "./server.ts";
export type * from "./state.ts";
export { SandboxState } from "./state.ts";
export { subscriptionEngineOf } from "./subscriptions/routes.ts";

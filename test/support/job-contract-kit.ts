// Shared by the JobQueue contract suite's files: the backend a runner under test provides, and helpers.
import assert from "node:assert/strict";
import {
  createJobRegistry,
  type JobDefinition,
  type JobHandlerRegistry,
  type JobKind,
  type JobQueue,
} from "../../src/jobs/queue.ts";
import type { Storage } from "../../src/storage/db.ts";

declare module "../../src/jobs/queue.ts" {
  interface JobPayloads {
    "contract.a": { n: number; text?: string; nested?: { list: unknown[]; flag: boolean | null } };
    "contract.b": { n: number };
  }
}

/** One backend (a database, a Redis prefix) with a queue on it, fresh for each test. */
export interface ContractBackend {
  /** Not started: the test starts it. */
  queue: JobQueue;
  /** The database the queue's transactions come from (`storage.transaction(fn)`). */
  storage: Storage;
  /** Another queue on the same backend and storage, as a second process would have; not started. */
  peer(registry: JobHandlerRegistry): Promise<JobQueue>;
  /** Stops every queue it made (without draining) and drops the backend. */
  close(): Promise<void>;
}

export type JobQueueContractFactory = (registry: JobHandlerRegistry) => Promise<ContractBackend>;

export type ContractDefinitions = JobDefinition<JobKind>[];

/** Runs `test` on a fresh backend whose queue handles `definitions`, and closes it whatever happens. */
export type ContractRunner = (
  definitions: ContractDefinitions,
  test: (backend: ContractBackend) => Promise<void>,
) => Promise<void>;

export function contractRunner(factory: JobQueueContractFactory): ContractRunner {
  return async (definitions: ContractDefinitions, test: (backend: ContractBackend) => Promise<void>) => {
    const backend = await factory(createJobRegistry(definitions));
    try {
      await test(backend);
    } finally {
      await backend.close();
    }
  };
}

/** Waits `ms` and then checks that `check` still holds: for asserting that nothing more happens. */
export async function quietFor(ms: number, what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    assert.ok(check(), what);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(check(), what);
}

/** A gate a handler awaits until the test opens it. */
export function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

// The JobQueue contract (test/support/job-contract.ts) run against the embedded SQL runner, on every
// dialect (DIALECTS=sqlite,postgres), and against the BullMQ runner on the shared Redis under a fresh
// random prefix (its keys deleted afterwards). Each test gets a fresh database; `peer` is a second
// runner (its own connection pool, or its own Redis connections), as a second process would have.
import { EmbeddedJobRunner } from "../src/jobs/embedded-runner.ts";
import type { JobHandlerRegistry } from "../src/jobs/queue.ts";
import { openStorage, type Storage } from "../src/storage/db.ts";
import { JobRepository } from "../src/storage/repositories/job.repository.ts";
import { bullFixture } from "./fixtures/bullmq-helpers.ts";
import { silentLog } from "./fixtures/jobs-helpers.ts";
import { createTestStorage, dialects } from "./support/databases.ts";
import { describeJobQueueContract } from "./support/job-contract.ts";

function runnerOn(storage: Storage, registry: JobHandlerRegistry): EmbeddedJobRunner {
  return new EmbeddedJobRunner({
    repository: new JobRepository(storage.db, storage.dialect),
    registry,
    log: silentLog,
    pollIntervalMs: 20,
    leaseMs: 5_000,
  });
}

for (const dialect of dialects()) {
  describeJobQueueContract(`embedded runner on ${dialect}`, async (registry) => {
    const { storage, database, dispose } = await createTestStorage(dialect);
    const runners = [runnerOn(storage, registry)];
    const peers: Storage[] = [];
    return {
      queue: runners[0] as EmbeddedJobRunner,
      storage,
      async peer(peerRegistry) {
        const other = openStorage(database.config);
        peers.push(other);
        const runner = runnerOn(other, peerRegistry);
        runners.push(runner);
        return runner;
      },
      async close() {
        await Promise.all(runners.map((runner) => runner.stop({ drainTimeoutMs: 0 })));
        await Promise.all(peers.map((peer) => peer.close()));
        await dispose();
      },
    };
  });
}

// The relay's table is in SQL: the transaction test runs on the first dialect selected.
describeJobQueueContract("BullMQ runner on Redis", async (registry) => {
  const fixture = await bullFixture(dialects()[0] ?? "sqlite");
  return {
    queue: fixture.runner(registry),
    storage: fixture.storage,
    peer: async (peerRegistry) => fixture.runner(peerRegistry),
    close: () => fixture.dispose(),
  };
});

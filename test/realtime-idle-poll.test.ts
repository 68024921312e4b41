// What a poll that finds nothing costs at Microsoft: one `$batch` holding every watched folder's
// delta round (Graph counts one request per folder inside it), and no folder tree read.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { connectAdele, waitForBaseline } from "./support/realtime.ts";

describe("realtime: an idle poll", () => {
  let h: ConnectHarness;
  let adeleId: string;
  const calls: string[] = [];
  const counting: typeof fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (url.includes("/v1.0/")) calls.push(`${init?.method ?? "GET"} ${new URL(url).pathname}`);
    return fetch(input, init);
  };
  const graphStats = async (): Promise<number> => {
    const res = await fetch(`${h.sandbox.url}/_sandbox/stats`);
    const json = (await res.json()) as { requests: Record<string, number> };
    return Object.values(json.requests).reduce((a, b) => a + b, 0);
  };
  const resetStats = () => fetch(`${h.sandbox.url}/_sandbox/stats/reset`, { method: "POST" });

  before(async () => {
    h = await startConnectHarness("sqlite", {
      seedCorpus: true,
      corpusSize: 10,
      env: { GRAPH_SUBSCRIPTIONS: "off" },
      fetch: counting,
    });
    adeleId = await connectAdele(h);
    await waitForBaseline(h.services, adeleId);
  });
  after(async () => {
    await h.dispose();
  });

  it("costs one HTTP request in all and at most one Graph request per watched folder", async () => {
    await h.services.realtime.sync(adeleId);
    const folders = (await h.services.realtime.d.repo.deltaLinks(adeleId)).size;
    assert.ok(folders >= 5, `the mailbox's folders are watched (${folders})`);
    for (let round = 0; round < 3; round++) {
      calls.length = 0;
      await resetStats();
      await h.services.realtime.sync(adeleId);
      const graph = await graphStats();
      assert.deepEqual(calls, ["POST /v1.0/$batch"], `round ${round}: ${calls.join(", ")}`);
      assert.ok(graph <= folders, `round ${round}: ${graph} Graph requests for ${folders} folders`);
    }
  });
});

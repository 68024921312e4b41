// The outbound module's pure decisions, table by table: which URLs Mailroom accepts, which addresses
// it may call, what happens after an attempt; and the transport refusing a literal private address.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { describe, it } from "node:test";
import { isPrivateAddress, refusalMessage, refusedAddress } from "../src/outbound/address-policy.ts";
import { DestinationGuard } from "../src/outbound/destination.ts";
import { HttpOutboundTransport, OutboundTransportError } from "../src/outbound/http-transport.ts";
import { afterAttempt, retryDelay } from "../src/outbound/retry.ts";
import { signatureHeader, verifySignature } from "../src/outbound/signing.ts";
import { checkUrl } from "../src/outbound/url.ts";
import { testLookup } from "./support/app.ts";

describe("checkUrl: the one URL validator", () => {
  for (const [url, expected] of [
    ["https://example.com/hooks/mail", true],
    ["http://127.0.0.1:8080/hook?x=1", true],
    ["http://[::1]:8080/hook", true],
    ["https://receiver/hook", true],
    ["https://my_service.internal/hook", true],
    ["https://bücher.example/hook", true],
    ["https://example.com./hook", true],
    [`https://${"a".repeat(63)}.example/hook`, true],
    [`https://${Array.from({ length: 4 }, () => "a".repeat(61)).join(".")}.ex/`, true],
    [`https://${"a".repeat(64)}.example/hook`, false],
    [`http://${"a".repeat(300)}.example`, false],
    [`https://${Array.from({ length: 5 }, () => "a".repeat(60)).join(".")}/`, false],
    ["https://user:secret@example.com/hook", false],
    ["https://user@example.com/hook", false],
    ["ftp://example.com/", false],
    ["javascript:alert(1)", false],
    ["mailto:ops@example.com", false],
    ["not a url", false],
    ["https://-bad.example/", false],
    ["https://bad-.example/", false],
    ["https://a..b.example/", false],
    [`https://example.com/${"p".repeat(2040)}`, false],
    [`https://example.com/${"p".repeat(2000)}`, true],
  ] as const) {
    it(`${url.length > 60 ? `${url.slice(0, 60)}… (${url.length} chars)` : url} → ${expected ? "accepted" : "refused"}`, () => {
      const result = checkUrl(url);
      assert.equal(result.ok, expected, result.ok ? "accepted" : result.reason);
    });
  }

  it("gives a reason that says what is wrong", () => {
    const reason = (url: string) => {
      const r = checkUrl(url);
      return r.ok ? "" : r.reason;
    };
    assert.match(reason(`http://${"a".repeat(300)}.example`), /host name/);
    assert.match(reason("https://u:p@example.com/"), /user name or password/);
    assert.match(reason("ftp://example.com/"), /http:\/\/ or https:\/\//);
    assert.match(reason(`https://example.com/${"p".repeat(2048)}`), /2048/);
  });
});

describe("address policy", () => {
  for (const [addresses, allow, refused] of [
    [["93.184.216.34"], false, undefined],
    [["127.0.0.1"], false, "127.0.0.1"],
    [["93.184.216.34", "10.0.0.7"], false, "10.0.0.7"],
    [["169.254.169.254"], false, "169.254.169.254"],
    [["::1"], false, "::1"],
    [["::ffff:127.0.0.1"], false, "::ffff:127.0.0.1"],
    [["2606:4700:4700::1111"], false, undefined],
    [["127.0.0.1"], true, undefined],
    [["169.254.169.254", "10.0.0.7"], true, undefined],
  ] as const) {
    it(`${addresses.join(", ")} with private addresses ${allow ? "allowed" : "refused"} → ${refused ?? "callable"}`, () => {
      assert.equal(refusedAddress(addresses, allow), refused);
    });
  }

  it("classifies addresses (the table of the private ranges)", () => {
    for (const address of ["127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "100.64.0.1", "fd00::1"])
      assert.equal(isPrivateAddress(address), true, address);
    for (const address of ["8.8.8.8", "192.0.2.10", "2606:4700:4700::1111"])
      assert.equal(isPrivateAddress(address), false, address);
  });

  it("a refusal names the address, the host it came from and the variable that allows it", () => {
    assert.equal(
      refusalMessage("hook.example", "10.0.0.7"),
      "hook.example resolves to 10.0.0.7, a private, loopback, link-local or metadata address; Mailroom calls those only with WEBHOOK_ALLOW_PRIVATE_ADDRESSES=on",
    );
    assert.match(refusalMessage("127.0.0.1", "127.0.0.1"), /^127\.0\.0\.1 is a private/);
  });
});

describe("destination guard (creation-time check)", () => {
  const off = new DestinationGuard({ allowPrivateAddresses: false, lookup: testLookup });
  const on = new DestinationGuard({ allowPrivateAddresses: true, lookup: testLookup });

  for (const [guard, url, outcome] of [
    [off, "https://hook.example/x", "ok"],
    [off, "http://127.0.0.1:9/x", /request_url: 127\.0\.0\.1 is a private.*WEBHOOK_ALLOW_PRIVATE_ADDRESSES/],
    [off, "http://localhost:9/x", /request_url: localhost resolves to .*WEBHOOK_ALLOW_PRIVATE_ADDRESSES/],
    [off, "http://[::1]:9/x", /WEBHOOK_ALLOW_PRIVATE_ADDRESSES/],
    [
      off,
      "https://nowhere.invalid/x",
      /request_url: the host name nowhere\.invalid could not be resolved \(ENOTFOUND\)/,
    ],
    [on, "http://127.0.0.1:9/x", "ok"],
    [on, "http://localhost:9/x", "ok"],
    [on, "https://nowhere.invalid/x", "ok"],
    [on, "https://u:p@hook.example/x", /request_url: must not carry a user name or password/],
  ] as const) {
    it(`${url} with private addresses ${guard === on ? "allowed" : "refused"} → ${outcome === "ok" ? "callable" : "400"}`, async () => {
      if (outcome === "ok") {
        assert.equal((await guard.callable(url, "request_url")).href, new URL(url).href);
        return;
      }
      await assert.rejects(guard.callable(url, "request_url"), (error: Error & { code?: string }) => {
        assert.equal(error.code, "invalid_parameters");
        assert.match((error as unknown as { detail: string }).detail, outcome);
        return true;
      });
    });
  }
});

describe("after an attempt", () => {
  const schedule = { maxAttempts: 3, retryDelaysMs: [1_000, 10_000] };
  const half = () => 0.5;
  for (const [result, attempt, expected] of [
    [{ status: 200 }, 1, { kind: "delivered" }],
    [{ status: 204 }, 3, { kind: "delivered" }],
    [{ status: 500 }, 1, { kind: "retry", error: "HTTP 500", delayMs: 1_000 }],
    [{ status: 429 }, 2, { kind: "retry", error: "HTTP 429", delayMs: 10_000 }],
    [{ status: 500 }, 3, { kind: "failed", error: "HTTP 500" }],
    [{ status: 302 }, 1, { kind: "retry", error: "HTTP 302: redirects are not followed", delayMs: 1_000 }],
    [
      { error: "no answer within 30 s", retryable: true },
      1,
      { kind: "retry", error: "no answer within 30 s", delayMs: 1_000 },
    ],
    [{ error: "refused", retryable: false }, 1, { kind: "failed", error: "refused" }],
  ] as const) {
    it(`${JSON.stringify(result)} at attempt ${attempt} → ${expected.kind}`, () => {
      assert.deepEqual(afterAttempt(result, attempt, schedule, half), expected);
    });
  }

  it("jitters each wait by ±20 % and repeats the last wait", () => {
    assert.equal(
      retryDelay([1_000], 1, () => 0),
      800,
    );
    assert.equal(
      retryDelay([1_000], 1, () => 1),
      1_200,
    );
    assert.equal(
      retryDelay([1_000, 5_000], 9, () => 0.5),
      5_000,
    );
  });
});

describe("signing", () => {
  it("one signature for webhooks and notify_url; the previous secret adds a second v1 that also verifies", () => {
    const header = signatureHeader("{}", 1_700_000_000, "new");
    assert.match(header, /^t=1700000000,v1=[0-9a-f]{64}$/);
    assert.ok(verifySignature("new", "{}", header, 1_700_000_000));
    assert.ok(!verifySignature("old", "{}", header, 1_700_000_000));
    const rotating = signatureHeader("{}", 1_700_000_000, "new", "old");
    assert.ok(rotating.startsWith(header));
    assert.ok(verifySignature("old", "{}", rotating, 1_700_000_000));
    assert.ok(!verifySignature("new", "{}", header, 1_700_000_000 + 301), "stale signatures are refused");
  });
});

describe("HTTP transport", () => {
  it("refuses a literal private address at send time without connecting, and does not retry it", async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const transport = new HttpOutboundTransport({ allowPrivateAddresses: false });
    try {
      for (const url of [`http://127.0.0.1:${port}/hook`, `http://[::ffff:127.0.0.1]:${port}/hook`]) {
        await assert.rejects(
          transport.post({ url, headers: {}, body: "{}", timeoutMs: 2_000 }),
          (error: OutboundTransportError) => {
            assert.ok(error instanceof OutboundTransportError);
            assert.equal(error.reason, "refused_address");
            assert.equal(error.retryable, false);
            assert.match(error.message, /WEBHOOK_ALLOW_PRIVATE_ADDRESSES=on/);
            return true;
          },
        );
      }
      assert.equal(hits, 0);
      const allowed = new HttpOutboundTransport({ allowPrivateAddresses: true });
      try {
        const response = await allowed.post({
          url: `http://127.0.0.1:${port}/hook`,
          headers: {},
          body: "{}",
          timeoutMs: 2_000,
        });
        assert.equal(response.status, 200);
        assert.equal(hits, 1);
      } finally {
        allowed.close();
      }
    } finally {
      transport.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

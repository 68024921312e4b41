// Email tracking's pure parts: the HTML instrumentation, the signed tokens, the prefetch heuristic,
// the batch builder and the recorder's per-mail cap, by table.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { instrumentHtml, isTrackableHref } from "../src/domain/tracking/instrument.ts";
import { classifyPrefetch, type PrefetchInput } from "../src/domain/tracking/prefetch.ts";
import { type TrackingHit, TrackingRecorder } from "../src/domain/tracking/recorder.ts";
import { TrackingTokens, trackingUrls } from "../src/domain/tracking/token.ts";
import { trackingBatch } from "../src/domain/tracking/tracking-events.ts";
import { shapePayload } from "../src/domain/webhooks/payload.ts";
import { checkWebhookInput } from "../src/domain/webhooks/webhook-admin.service.ts";
import { TestClock } from "../src/lib/clock.ts";
import type { TrackedEmailRow } from "../src/storage/repositories/tracking.repository.ts";

const urls = { pixel: () => "https://t.example/p", link: (url: string) => `https://t.example/c?u=${url}` };
const quiet = { warn: () => {} };

describe("instrumentHtml rewrites http(s) links and adds a pixel, and nothing else", () => {
  const both = { opens: true, links: true };
  const cases: [name: string, html: string, expected: string, links: number][] = [
    [
      "a double-quoted http link",
      '<a href="https://a.example/x">x</a>',
      '<a href="https://t.example/c?u=https://a.example/x">x</a>',
      1,
    ],
    [
      "single quotes",
      "<a href='http://a.example/'>x</a>",
      '<a href="https://t.example/c?u=http://a.example/">x</a>',
      1,
    ],
    [
      "unquoted",
      "<a href=https://a.example/>x</a>",
      '<a href="https://t.example/c?u=https://a.example/">x</a>',
      1,
    ],
    [
      "other attributes kept, `>` inside a quoted attribute",
      '<A class="b" title="1 > 0" HREF="https://a.example/" target=_blank>x</A>',
      '<A class="b" title="1 > 0" HREF="https://t.example/c?u=https://a.example/" target=_blank>x</A>',
      1,
    ],
    [
      "entities decoded into the target, escaped again in the attribute",
      '<a href="https://a.example/?a=1&amp;b=2">x</a>',
      '<a href="https://t.example/c?u=https://a.example/?a=1&amp;b=2">x</a>',
      1,
    ],
    ["mailto left alone", '<a href="mailto:a@b.example">m</a>', '<a href="mailto:a@b.example">m</a>', 0],
    ["tel left alone", '<a href="tel:+331">t</a>', '<a href="tel:+331">t</a>', 0],
    ["in-page anchor left alone", '<a href="#top">t</a>', '<a href="#top">t</a>', 0],
    ["relative link left alone", '<a href="/x">t</a>', '<a href="/x">t</a>', 0],
    [
      "javascript: left alone",
      '<a href="javascript:alert(1)">t</a>',
      '<a href="javascript:alert(1)">t</a>',
      0,
    ],
    [
      "unsubscribe link left alone",
      '<a href="https://a.example/unsubscribe?u=1">stop</a>',
      '<a href="https://a.example/unsubscribe?u=1">stop</a>',
      0,
    ],
    [
      "opted out with data-mailroom-track=off",
      '<a data-mailroom-track="off" href="https://a.example/">x</a>',
      '<a data-mailroom-track="off" href="https://a.example/">x</a>',
      0,
    ],
    ["a name without href", '<a name="top">x</a>', '<a name="top">x</a>', 0],
    ["not an <a>: <abbr>, <area>", '<abbr title="x">y</abbr>', '<abbr title="x">y</abbr>', 0],
  ];
  for (const [name, html, expected, links] of cases)
    it(name, () => {
      const result = instrumentHtml(html, { opens: false, links: true }, urls);
      assert.equal(result.html, expected);
      assert.equal(result.links, links);
    });

  it("the pixel goes before the last </body>, or at the end without one", () => {
    const pixel =
      '<img src="https://t.example/p" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;margin:0;padding:0" />';
    assert.equal(
      instrumentHtml("<html><body><p>Hi</p></BODY></html>", both, urls).html,
      `<html><body><p>Hi</p>${pixel}</BODY></html>`,
    );
    assert.equal(instrumentHtml("<p>Hi</p>", both, urls).html, `<p>Hi</p>${pixel}`);
  });

  it("opens only: links untouched; links only: no pixel", () => {
    const html = '<p><a href="https://a.example/">x</a></p>';
    const opens = instrumentHtml(html, { opens: true, links: false }, urls);
    assert.ok(opens.html.includes('href="https://a.example/"') && opens.html.includes("<img"));
    const links = instrumentHtml(html, { opens: false, links: true }, urls);
    assert.ok(!links.html.includes("<img") && links.links === 1 && !links.opens);
  });

  it("isTrackableHref: absolute http(s) only", () => {
    for (const [href, ok] of [
      ["https://a.example", true],
      ["HTTP://A.EXAMPLE/x", true],
      ["https://", false],
      ["ftp://a.example", false],
      ["https://a.example/{{unsubscribe_url}}", false],
    ] as const)
      assert.equal(isTrackableHref(href), ok, href);
  });
});

describe("tracking tokens are signed: only Mailroom's verify, and any change breaks them", () => {
  const tokens = new TrackingTokens(Buffer.alloc(32, 7));
  const other = new TrackingTokens(Buffer.alloc(32, 8));
  const click = tokens.sign({
    kind: "click",
    trackingId: "abcdefghijklmnopqrstuv",
    url: "https://a.example/x?y=1",
  });
  const open = tokens.sign({ kind: "open", trackingId: "abcdefghijklmnopqrstuv" });

  it("a signed token reads back its target", () => {
    assert.deepEqual(tokens.verify(click), {
      kind: "click",
      trackingId: "abcdefghijklmnopqrstuv",
      url: "https://a.example/x?y=1",
    });
    assert.deepEqual(tokens.verify(open), { kind: "open", trackingId: "abcdefghijklmnopqrstuv" });
  });

  it("forged, altered, truncated or foreign tokens verify to nothing", () => {
    const [payload, mac] = click.split(".") as [string, string];
    const forgedPayload = Buffer.from("1cabcdefghijklmnopqrstuv\nhttps://evil.example/").toString(
      "base64url",
    );
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    for (const bad of [
      `${forgedPayload}.${mac}`,
      `${flip(payload, 5)}.${mac}`,
      `${payload}.${flip(mac, 3)}`,
      `${payload}.${mac.slice(0, -2)}`,
      payload,
      `${payload}.${mac}.x`,
      other.sign({ kind: "click", trackingId: "abcdefghijklmnopqrstuv", url: "https://a.example/x?y=1" }),
      "",
      "....",
      "x".repeat(10_000),
    ])
      assert.equal(tokens.verify(bad), undefined, bad.slice(0, 60));
  });

  it("asked again, after thousands of other tokens, every token keeps its verdict", () => {
    const [payload, mac] = open.split(".") as [string, string];
    const forged = `${payload}.${mac.slice(0, -1)}${mac.endsWith("A") ? "B" : "A"}`;
    const longLink = tokens.sign({
      kind: "click",
      trackingId: "abcdefghijklmnopqrstuv",
      url: `https://a.example/${"p".repeat(600)}`,
    });
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(tokens.verify(open), { kind: "open", trackingId: "abcdefghijklmnopqrstuv" });
      assert.equal(tokens.verify(forged), undefined);
      assert.equal(tokens.verify(longLink)?.kind, "click");
      assert.equal(tokens.verify(`${longLink.slice(0, -1)}x`), undefined);
      for (let i = 0; i < 5000; i++) {
        const id = `mail${String(i).padStart(6, "0")}${round}`;
        const token = tokens.sign({ kind: "open", trackingId: id });
        assert.equal(tokens.verify(token)?.trackingId, id);
        assert.equal(other.verify(token), undefined);
      }
    }
  });

  it("trackingUrls put the tokens under the base given (PUBLIC_URL or https://custom_domain)", () => {
    const made = trackingUrls(tokens, "https://track.example.com", "abcdefghijklmnopqrstuv");
    assert.match(made.pixel(), /^https:\/\/track\.example\.com\/t\/o\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.gif$/);
    assert.match(
      made.link("https://a.example/"),
      /^https:\/\/track\.example\.com\/t\/c\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/,
    );
  });
});

describe("classifyPrefetch flags machines, never drops", () => {
  const SENT = 1_000_000;
  const human =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36";
  const base: PrefetchInput = {
    kind: "open",
    userAgent: human,
    at: SENT + 60_000,
    sentAt: SENT,
    previousClickAt: null,
  };
  const cases: [string, Partial<PrefetchInput>, string | undefined][] = [
    ["a browser a minute after the send", {}, undefined],
    [
      "Gmail's image proxy",
      {
        userAgent:
          "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
      },
      "image_proxy",
    ],
    [
      "Yahoo's proxy",
      { userAgent: "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html" },
      "image_proxy",
    ],
    ["Apple Mail Privacy Protection's bare agent", { userAgent: "Mozilla/5.0" }, "image_proxy"],
    ["no user agent", { userAgent: undefined }, "no_user_agent"],
    [
      "a security gateway",
      { kind: "click", userAgent: "Mozilla/5.0 Mimecast URL Protect" },
      "security_scanner",
    ],
    ["a script", { userAgent: "python-requests/2.31" }, "automated_client"],
    ["an open one second after the send", { at: SENT + 1_000 }, "soon_after_send"],
    ["an open three seconds after the send", { at: SENT + 3_000 }, undefined],
    ["a click five seconds after the send", { kind: "click", at: SENT + 5_000 }, "soon_after_send"],
    ["a click 300 ms after another", { kind: "click", previousClickAt: SENT + 59_700 }, "click_burst"],
    ["a click a minute after another", { kind: "click", previousClickAt: SENT }, undefined],
  ];
  for (const [name, change, reason] of cases)
    it(name, () => {
      const verdict = classifyPrefetch({ ...base, ...change });
      assert.equal(verdict.isPrefetch, reason !== undefined);
      assert.equal(verdict.reason, reason);
    });
});

const EMAIL: TrackedEmailRow = {
  tracking_id: "tid-aaaaaaaaaaaaaaaaaa",
  account_id: "acc",
  email_id: "acc.mail",
  subject: "Hi",
  recipient: "x@example.com",
  label: "campaign-7",
  custom_domain: null,
  opens: 1,
  links: 1,
  sent_at: 0,
  open_count: 0,
  click_count: 0,
  prefetch_count: 0,
  first_open_at: null,
  last_event_at: null,
  last_click_at: null,
};

describe("trackingBatch", () => {
  it("makes one event row and one webhook event per hit of a known send, with the documented keys; unknown sends are skipped", () => {
    let n = 0;
    const hit = (kind: "open" | "click", at: number, trackingId = EMAIL.tracking_id): TrackingHit => ({
      target: kind === "open" ? { kind, trackingId } : { kind, trackingId, url: "https://a.example/" },
      ip: "203.0.113.9",
      userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/120",
      at,
    });
    const batch = trackingBatch(
      [
        hit("click", 60_500),
        hit("open", 60_000),
        hit("click", 60_200),
        hit("open", 1, "unknown-aaaaaaaaaaaaa"),
      ],
      new Map([[EMAIL.tracking_id, EMAIL]]),
      () => `e${++n}`,
    );
    assert.deepEqual(
      batch.published.map((e) => [e.type, e.payload.is_prefetch, e.payload.prefetch_reason]),
      [
        ["mail_opened", false, undefined],
        ["mail_link_clicked", false, undefined],
        ["mail_link_clicked", true, "click_burst"],
      ],
    );
    assert.deepEqual(Object.keys(batch.published[1]!.payload), [
      "email_id",
      "event_id",
      "tracking_id",
      "type",
      "date",
      "ip",
      "user_agent",
      "url",
      "label",
      "custom_domain",
      "is_prefetch",
    ]);
    assert.equal(batch.published[1]!.payload.label, "campaign-7");
    assert.deepEqual(batch.counts.get(EMAIL.tracking_id), {
      opens: 1,
      clicks: 2,
      prefetches: 1,
      firstOpenAt: 60_000,
      lastEventAt: 60_500,
      lastClickAt: 60_500,
    });
  });
});

describe("TrackingRecorder", () => {
  it("keeps at most eventsPerMinute hits per tracking id a minute, answers every one, and flushes in batches", async () => {
    const clock = new TestClock(0);
    const stored: TrackingHit[][] = [];
    const recorder = new TrackingRecorder(async (hits) => void stored.push(hits), clock, quiet, {
      flushEveryMs: 60_000,
      batchSize: 4,
      maxBuffered: 100,
      eventsPerMinute: 3,
    });
    const hit = (trackingId: string): TrackingHit => ({
      target: { kind: "open", trackingId },
      ip: "1",
      userAgent: "a",
      at: 0,
    });
    const outcomes = Array.from({ length: 10_000 }, () => recorder.record(hit("one")));
    assert.equal(outcomes.filter((o) => o === "queued").length, 3);
    assert.equal(recorder.dropped.rateLimited, 9_997);
    assert.equal(recorder.record(hit("two")), "queued");
    await recorder.flush();
    assert.deepEqual(
      stored.map((b) => b.length),
      [4],
    );
    clock.advance(60_000);
    assert.equal(recorder.record(hit("one")), "queued", "a new minute, a new allowance");
    await recorder.close();
    assert.deepEqual(
      stored.map((b) => b.length),
      [4, 1],
    );
  });

  it("a batch the store refuses is dropped and counted, and later batches still go", async () => {
    let fail = true;
    const stored: number[] = [];
    const recorder = new TrackingRecorder(
      async (hits) => {
        if (fail) throw new Error("database down");
        stored.push(hits.length);
      },
      new TestClock(0),
      quiet,
      { flushEveryMs: 60_000, batchSize: 10, maxBuffered: 100, eventsPerMinute: 100 },
    );
    recorder.record({ target: { kind: "open", trackingId: "a" }, ip: "1", userAgent: "a", at: 0 });
    await recorder.flush();
    assert.equal(recorder.dropped.failed, 1);
    fail = false;
    recorder.record({ target: { kind: "open", trackingId: "a" }, ip: "1", userAgent: "a", at: 0 });
    await recorder.close();
    assert.deepEqual(stored, [1]);
  });
});

describe("email_tracking webhooks", () => {
  it("take the tracking events (both by default) and the tracking payload's keys, and refuse the email source's", () => {
    const base = { requestUrl: "https://r.example/h", source: "email_tracking" as const };
    assert.deepEqual(checkWebhookInput(base).events, ["mail_opened", "mail_link_clicked"]);
    assert.deepEqual(
      checkWebhookInput({
        ...base,
        data: [
          { name: "id", key: "event_id" },
          { name: "link", key: "url" },
        ],
      }).data,
      [
        { name: "id", key: "event_id" },
        { name: "link", key: "url" },
      ],
    );
    assert.throws(
      () => checkWebhookInput({ ...base, events: ["mail_received"] }),
      /not an event of source email_tracking/,
    );
    assert.throws(
      () => checkWebhookInput({ ...base, data: [{ name: "s", key: "subject" }] }),
      /email_tracking payload/,
    );
  });

  it("shapePayload selects and renames tracking keys as for email payloads", () => {
    const shaped = shapePayload(
      {
        type: "mail_link_clicked",
        source: "email_tracking",
        account_id: "acc",
        payload: { email_id: "acc.m", event_id: "e1", url: "https://a.example/", is_prefetch: false },
      },
      {
        name: "hook",
        data: [
          { name: "link", key: "url" },
          { name: "who", key: "account_id" },
        ],
      },
    );
    assert.deepEqual(shaped, { link: "https://a.example/", who: "acc" });
  });
});

// Email tracking: Mailroom's pixel and click routes under load beside a bare Fastify serving the same
// GIF and 302 (bench/tracking-baseline-server.ts) in the same run, rounds alternating; then opens and
// clicks of many tracked mails → mail_opened / mail_link_clicked webhooks delivered to a local
// receiver (events/s); then the added cost of tracking_options on POST /api/v1/emails (an HTML body
// with 20 links, tracked vs untracked, sends alternating). One Mailroom child with its embedded
// sandbox, SQLite; TRACKING_EVENTS_PER_MINUTE at its default (60), so the load runs measure the
// request path with the per-mail cap in force, as a flood of one mail's pixel would meet it.
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { connectMailbox } from "../lib/connect.ts";
import {
  cleanEnv,
  freePort,
  LOCALHOST,
  REPO_ROOT,
  runCommand,
  spawnChild,
  waitFor200,
} from "../lib/processes.ts";
import type { Scenario } from "../lib/scenario.ts";
import { median, round } from "../lib/stats.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";
const EVENT_MAILS = 40;
const HITS_PER_MAIL = 50;
const SEND_PAIRS = 30;
const DRAIN_TIMEOUT_MS = 60_000;
const HTML = `<html><body>${Array.from({ length: 20 }, (_, i) => `<p>Item ${i}: <a href="https://example.com/items/${i}?ref=mail&amp;n=${i}">see item ${i}</a> ${"Lorem ipsum dolor sit amet. ".repeat(5)}</p>`).join("")}</body></html>`;

async function hammer(url: string, connections: number, durationS: number, status: number) {
  const result = await autocannon({ url, connections, duration: durationS, timeout: 10 });
  const codes = result.statusCodeStats as Record<string, { count: number }>;
  const wrong = Object.entries(codes).filter(([code]) => Number(code) !== status);
  if (result.errors > 0 || wrong.length > 0)
    throw new Error(`${url}: ${result.errors} errors, statuses ${JSON.stringify(codes)}`);
  return { perS: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

export const tracking: Scenario = {
  name: "tracking",
  describe:
    "pixel and click requests/s vs a bare Fastify GIF/302, tracking events/s delivered to a webhook, and the cost of tracking_options on a send",
  async run(settings, log) {
    const arrivals: number[] = [];
    const receiver: Server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        arrivals.push(performance.now());
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((done) => receiver.listen(0, LOCALHOST, done));
    const receiverPort = (receiver.address() as { port: number }).port;
    const dataDir = await mkdtemp(join(tmpdir(), "mailroom-bench-tracking-"));
    const port = await freePort();
    const sandboxPort = await freePort();
    const basePort = await freePort();
    const bin = join(REPO_ROOT, "bin/mailroom.js");
    const env = cleanEnv({
      DATA_DIR: dataDir,
      PORT: String(port),
      SANDBOX_PORT: String(sandboxPort),
      LOG_LEVEL: "warn",
      LOG_FORMAT: "json",
      WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on",
      POLL_INTERVAL_SECONDS: "3600",
    });
    const out = await runCommand(process.execPath, [bin, "api-key", "create", "--name", "bench"], { env });
    const key = /^\s+(mr_\S+)\s*$/m.exec(out)?.[1];
    if (!key) throw new Error(`no API key in: ${out}`);
    const mailroom = spawnChild("mailroom", process.execPath, [...settings.subjectNodeFlags, bin, "start"], {
      env,
    });
    const baseline = spawnChild(
      "baseline",
      process.execPath,
      ["--import", "tsx", join(REPO_ROOT, "bench/tracking-baseline-server.ts")],
      { env: cleanEnv({ PORT: String(basePort) }) },
    );
    try {
      await waitFor200(mailroom, port, "/ready", { timeoutMs: 60_000 });
      await waitFor200(baseline, basePort, "/t/o/x", { timeoutMs: 30_000 });
      const base = `http://localhost:${port}`;
      const api = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: { "x-api-key": key, ...(body ? { "content-type": "application/json" } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        const json = (await res.json()) as Record<string, unknown>;
        if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
        return json;
      };
      await api("POST", "/api/v1/webhooks", {
        request_url: `http://${LOCALHOST}:${receiverPort}/hook`,
        source: "email_tracking",
      });
      await connectMailbox({
        mailroomUrl: base,
        sandboxUrl: `http://localhost:${sandboxPort}`,
        apiKey: key,
        email: ADELE,
      });
      const accountId = ((await api("GET", "/api/v1/accounts")).items as { id: string }[])[0]!.id;
      const send = (tracked: boolean, subject: string) =>
        api("POST", "/api/v1/emails", {
          account_id: accountId,
          to: [{ identifier: MEGAN }],
          subject,
          body: HTML,
          ...(tracked ? { tracking_options: { opens: true, links: true, label: "bench" } } : {}),
        });
      const urlsOf = async (emailId: string) => {
        const email = await api("GET", `/api/v1/emails/${encodeURIComponent(emailId)}`);
        const body = String(email.body);
        const pixel = /<img src="[^"]+(\/t\/o\/[^"]+)"/.exec(body)?.[1];
        const link = /href="[^"]+(\/t\/c\/[^"]+)"/.exec(body)?.[1];
        if (!pixel || !link) throw new Error("no tracked URLs in the sent body");
        return { pixel, link: link.replace(/&amp;/g, "&") };
      };

      const first = await send(true, "bench-load");
      const urls = await urlsOf(String(first.id));
      const sides = [
        {
          name: "pixel",
          mailroom: `${base}${urls.pixel}`,
          baseline: `http://${LOCALHOST}:${basePort}/t/o/x.gif`,
          status: 200,
        },
        {
          name: "click",
          mailroom: `${base}${urls.link}`,
          baseline: `http://${LOCALHOST}:${basePort}/t/c/x`,
          status: 302,
        },
      ];
      const rows: (string | number)[][] = [];
      const data: Record<string, unknown> = {};
      for (const side of sides) {
        log(`tracking: ${side.name} warm-up`);
        await hammer(side.baseline, settings.connections, settings.warmupS, side.status);
        await hammer(side.mailroom, settings.connections, settings.warmupS, side.status);
        const m: number[] = [];
        const b: number[] = [];
        const ratios: number[] = [];
        for (let r = 0; r < settings.rounds; r++) {
          const order =
            r % 2 === 0 ? (["baseline", "mailroom"] as const) : (["mailroom", "baseline"] as const);
          const got: Record<string, number> = {};
          for (const which of order) {
            const s = await hammer(side[which], settings.connections, settings.durationS, side.status);
            got[which] = s.perS;
            log(`  round ${r + 1} ${side.name} ${which} ${round(s.perS, 0)} req/s p99 ${s.p99} ms`);
          }
          m.push(got.mailroom!);
          b.push(got.baseline!);
          ratios.push(round(got.mailroom! / got.baseline!, 3));
        }
        const ratio = round(median(m) / median(b), 3);
        rows.push([
          `${side.name} (${side.status})`,
          round(median(m), 0),
          round(median(b), 0),
          ratio,
          ratios.join(", "),
        ]);
        data[side.name] = { mailroom: m, baseline: b, ratio, roundRatios: ratios };
      }

      log(`tracking: ${EVENT_MAILS} tracked mails × ${HITS_PER_MAIL} hits → webhooks`);
      const mails = [];
      for (let i = 0; i < EVENT_MAILS; i++) mails.push(await send(true, `bench-events-${i}`));
      const mailUrls = [];
      for (const mail of mails) mailUrls.push(await urlsOf(String(mail.id)));
      arrivals.length = 0;
      const started = performance.now();
      const hits = mailUrls.flatMap((u) =>
        Array.from({ length: HITS_PER_MAIL }, (_, i) => (i % 2 === 0 ? u.pixel : u.link)),
      );
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < hits.length) {
            const path = hits[next++]!;
            const res = await fetch(`${base}${path}`, {
              redirect: "manual",
              headers: { "user-agent": "bench" },
            });
            await res.arrayBuffer();
          }
        }),
      );
      const hitsDoneS = (performance.now() - started) / 1000;
      const end = Date.now() + DRAIN_TIMEOUT_MS;
      while (arrivals.length < hits.length && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      const deliveredS = ((arrivals.at(-1) ?? started) - started) / 1000;
      const eventsPerS = round(arrivals.length / deliveredS, 1);
      data.events = { hits: hits.length, delivered: arrivals.length, hitsDoneS, deliveredS, eventsPerS };

      log(`tracking: ${SEND_PAIRS} send pairs, tracked and untracked alternating`);
      const plain: number[] = [];
      const tracked: number[] = [];
      for (let i = 0; i < SEND_PAIRS; i++)
        for (const t of i % 2 === 0 ? [false, true] : [true, false]) {
          const at = performance.now();
          await send(t, `bench-send-${i}-${t}`);
          (t ? tracked : plain).push(performance.now() - at);
        }
      const addedPct = round(((median(tracked) - median(plain)) / median(plain)) * 100, 1);
      data.send = { plainMs: median(plain), trackedMs: median(tracked), addedPct };
      return {
        status: "ok",
        table: {
          title:
            "tracking — pixel and click routes vs a bare Fastify GIF/302; events to a webhook; cost on a send",
          columns: ["measure", "Mailroom", "baseline", "ratio", "round ratios"],
          rows: [
            ...rows,
            [
              `events delivered to the webhook (${hits.length} hits on ${EVENT_MAILS} mails)`,
              `${arrivals.length} in ${round(deliveredS, 2)} s = ${eventsPerS}/s`,
              "—",
              "—",
              `hits answered in ${round(hitsDoneS, 2)} s`,
            ],
            [
              "POST /api/v1/emails, 20-link HTML, median ms",
              `${round(median(tracked), 1)} tracked`,
              `${round(median(plain), 1)} untracked`,
              `+${addedPct} %`,
              "—",
            ],
          ],
          notes: [
            `req/s: medians of ${settings.rounds} rounds of ${settings.durationS} s, ${settings.connections} connections, alternating order; aim ≥ 0.7×`,
            "the load runs hit one mail's URLs: after its 60 events a minute, hits are answered and not recorded",
            "aim for the send: tracking adds ≤ 5 % (the sandbox answers Graph in-process, so a real send is slower and the share smaller)",
          ],
        },
        data,
      };
    } finally {
      await mailroom.stop();
      await baseline.stop();
      receiver.closeAllConnections();
      await new Promise<void>((done) => receiver.close(() => done()));
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};

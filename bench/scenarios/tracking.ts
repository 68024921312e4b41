// Email tracking: Mailroom's pixel and click routes under load beside a bare Fastify serving the same
// GIF and 302 (bench/tracking-baseline-server.ts) in the same run, rounds alternating; then opens and
// clicks of many tracked mails → mail_opened / mail_link_clicked webhooks delivered to a local
// receiver (events/s); then the added cost of tracking_options on POST /api/v1/emails (an HTML body
// with 20 links, tracked vs untracked blocks alternating: wall time per send and Mailroom's CPU per
// send); then a flood of 10,000 pixel requests a second at one mail from one address (a separate
// autocannon process) while the API is probed beside it. One Mailroom child (SQLite) beside the
// sandbox in its own process, as Microsoft is (lib/beside-sandbox.ts); TRACKING_EVENTS_PER_MINUTE at
// its default (60), so the load runs measure the request path with the per-mail cap in force, as a
// flood of one mail's pixel would meet it.
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import autocannon from "autocannon";
import { startMailroomBesideSandbox } from "../lib/beside-sandbox.ts";
import { connectMailbox } from "../lib/connect.ts";
import {
  cleanEnv,
  cpuTimeMs,
  freePort,
  LOCALHOST,
  REPO_ROOT,
  spawnChild,
  waitFor200,
} from "../lib/processes.ts";
import type { Scenario } from "../lib/scenario.ts";
import { median, round } from "../lib/stats.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";
const EVENT_MAILS = 40;
const HITS_PER_MAIL = 50;
/** Sends per block and blocks per kind; tracked and untracked blocks alternate (ABBA). */
const SEND_BLOCK = 15;
const SEND_BLOCKS = 8;
/** Pause after a block, so the work a send leaves behind (its sync of Sent Items) counts in it. */
const SEND_SETTLE_MS = 300;
/**
 * Graph latency for the second send comparison: each Graph request of the mailbox answered this much
 * later (the sandbox's `latency` switch). Microsoft's own answers to a draft create and a /send take
 * longer, so a real send's share is smaller still.
 */
const GRAPH_LATENCY_MS = 50;
const LATENCY_SEND_BLOCK = 10;
const LATENCY_SEND_BLOCKS = 4;
const FLOOD_RATE = 10_000;
const FLOOD_S = 10;
const PROBE_EVERY_MS = 20;
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

/** A fixed-rate load from a separate autocannon process, so the bench's own API probe is not slowed by it. */
async function floodFrom(url: string, rate: number, durationS: number) {
  const cli = join(REPO_ROOT, "node_modules/autocannon/autocannon.js");
  const args = [cli, "-j", "-c", "50", "-R", String(rate), "-d", String(durationS), "-t", "10", url];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "ignore"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
  await new Promise<void>((done, fail) => {
    child.on("error", fail);
    child.on("close", () => done());
  });
  const result = JSON.parse(out) as {
    requests: { average: number };
    errors: number;
    non2xx: number;
  };
  return { perS: result.requests.average, errors: result.errors, non200: result.non2xx };
}

export const tracking: Scenario = {
  name: "tracking",
  describe:
    "pixel and click requests/s vs a bare Fastify GIF/302, tracking events/s delivered to a webhook, and the cost of tracking_options on a send",
  async run(settings, log) {
    const arrivals: number[] = [];
    const perTrackingId = new Map<string, number>();
    const receiver: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        arrivals.push(performance.now());
        try {
          const id = String(
            (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { tracking_id?: string }).tracking_id,
          );
          perTrackingId.set(id, (perTrackingId.get(id) ?? 0) + 1);
        } catch {
          // not an event this bench reads
        }
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((done) => receiver.listen(0, LOCALHOST, done));
    const receiverPort = (receiver.address() as { port: number }).port;
    const basePort = await freePort();
    const subject = await startMailroomBesideSandbox({
      nodeFlags: settings.subjectNodeFlags,
      env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on", POLL_INTERVAL_SECONDS: "3600" },
    });
    const { apiKey: key, child: mailroom, sandboxBase } = subject;
    const baseline = spawnChild(
      "baseline",
      process.execPath,
      ["--import", "tsx", join(REPO_ROOT, "bench/tracking-baseline-server.ts")],
      { env: cleanEnv({ PORT: String(basePort) }) },
    );
    try {
      await waitFor200(baseline, basePort, "/t/o/x", { timeoutMs: 30_000 });
      const base = subject.mailroomBase;
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
        sandboxUrl: sandboxBase,
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

      log(`tracking: ${SEND_BLOCKS} blocks of ${SEND_BLOCK} sends each, tracked and untracked alternating`);
      const plain: number[] = [];
      const tracked: number[] = [];
      const plainCpu: number[] = [];
      const trackedCpu: number[] = [];
      for (let i = 0; i < 4; i++) await send(i % 2 === 0, `bench-send-warm-${i}`);
      for (let block = 0; block < SEND_BLOCKS * 2; block++) {
        const t = block % 4 === 0 || block % 4 === 3;
        const cpuAt = cpuTimeMs(mailroom.pid);
        for (let i = 0; i < SEND_BLOCK; i++) {
          const at = performance.now();
          await send(t, `bench-send-${block}-${i}`);
          (t ? tracked : plain).push(performance.now() - at);
        }
        await new Promise((r) => setTimeout(r, SEND_SETTLE_MS));
        (t ? trackedCpu : plainCpu).push((cpuTimeMs(mailroom.pid) - cpuAt) / SEND_BLOCK);
      }
      const addedPct = round(((median(tracked) - median(plain)) / median(plain)) * 100, 1);
      const addedCpuPct = round(((median(trackedCpu) - median(plainCpu)) / median(plainCpu)) * 100, 1);
      data.send = {
        plainMs: median(plain),
        trackedMs: median(tracked),
        addedPct,
        plainCpuMs: median(plainCpu),
        trackedCpuMs: median(trackedCpu),
        addedCpuPct,
      };

      log(`tracking: the same sends with ${GRAPH_LATENCY_MS} ms of Graph latency per request`);
      const scenario = async (body: Record<string, unknown>) => {
        const res = await fetch(`${sandboxBase}/_sandbox/scenarios`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        if (!res.ok) throw new Error(`the sandbox refused ${JSON.stringify(body)}: ${await res.text()}`);
      };
      await scenario({ action: "latency", user: ADELE, ms: GRAPH_LATENCY_MS });
      const slowPlain: number[] = [];
      const slowTracked: number[] = [];
      for (let block = 0; block < LATENCY_SEND_BLOCKS * 2; block++) {
        const t = block % 4 === 0 || block % 4 === 3;
        for (let i = 0; i < LATENCY_SEND_BLOCK; i++) {
          const at = performance.now();
          await send(t, `bench-send-slow-${block}-${i}`);
          (t ? slowTracked : slowPlain).push(performance.now() - at);
        }
      }
      await scenario({ action: "clear_faults", user: ADELE });
      const slowAddedPct = round(((median(slowTracked) - median(slowPlain)) / median(slowPlain)) * 100, 1);
      data.sendWithLatency = {
        graphLatencyMs: GRAPH_LATENCY_MS,
        plainMs: median(slowPlain),
        trackedMs: median(slowTracked),
        addedPct: slowAddedPct,
      };

      log(`tracking: ${FLOOD_RATE} pixel requests/s at one mail for ${FLOOD_S} s, the API probed beside it`);
      const floodMail = await send(true, "bench-flood");
      const floodUrls = await urlsOf(String(floodMail.id));
      const probe = async (ms: number) => {
        const latencies: number[] = [];
        let failed = 0;
        const end = performance.now() + ms;
        while (performance.now() < end) {
          const at = performance.now();
          const res = await fetch(`${base}/api/v1/accounts`, { headers: { "x-api-key": key } });
          await res.arrayBuffer();
          if (res.status !== 200) failed++;
          latencies.push(performance.now() - at);
          await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
        }
        latencies.sort((a, b) => a - b);
        const at = (q: number) =>
          round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!, 1);
        return { requests: latencies.length, failed, p50: at(0.5), p99: at(0.99) };
      };
      const quiet = await probe(5_000);
      const [flood, busy] = await Promise.all([
        floodFrom(`${base}${floodUrls.pixel}`, FLOOD_RATE, FLOOD_S),
        probe(FLOOD_S * 1000),
      ]);
      const floodTrackingId = String(floodMail.tracking_id);
      await new Promise((r) => setTimeout(r, 3_000));
      const floodEvents = perTrackingId.get(floodTrackingId) ?? 0;
      data.flood = { ...flood, quiet, busy, events: floodEvents };
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
              `${round(median(tracked), 2)} tracked`,
              `${round(median(plain), 2)} untracked`,
              `${addedPct >= 0 ? "+" : ""}${addedPct} %`,
              "—",
            ],
            [
              "POST /api/v1/emails, 20-link HTML, Mailroom CPU ms per send",
              `${round(median(trackedCpu), 2)} tracked`,
              `${round(median(plainCpu), 2)} untracked`,
              `${addedCpuPct >= 0 ? "+" : ""}${addedCpuPct} %`,
              `blocks ${trackedCpu.map((c) => round(c, 2)).join(" ")} | ${plainCpu.map((c) => round(c, 2)).join(" ")}`,
            ],
            [
              `POST /api/v1/emails, 20-link HTML, ${GRAPH_LATENCY_MS} ms Graph latency, median ms`,
              `${round(median(slowTracked), 1)} tracked`,
              `${round(median(slowPlain), 1)} untracked`,
              `${slowAddedPct >= 0 ? "+" : ""}${slowAddedPct} %`,
              `${LATENCY_SEND_BLOCKS} blocks of ${LATENCY_SEND_BLOCK} per kind`,
            ],
            [
              `pixel flood at one mail (${FLOOD_RATE}/s asked, ${FLOOD_S} s)`,
              `${round(flood.perS, 0)} req/s answered, ${flood.non200} not 200, ${flood.errors} errors`,
              "—",
              "—",
              `events recorded for that mail: ${floodEvents}`,
            ],
            [
              "GET /api/v1/accounts beside the flood, p50 / p99 ms",
              `${busy.p50} / ${busy.p99} (${busy.requests} requests, ${busy.failed} failed)`,
              `${quiet.p50} / ${quiet.p99} without it`,
              "—",
              "—",
            ],
          ],
          notes: [
            `req/s: medians of ${settings.rounds} rounds of ${settings.durationS} s, ${settings.connections} connections, alternating order; aim ≥ 0.7×`,
            "the load runs hit one mail's URLs: after its 60 events a minute, hits are answered and not recorded",
            `send: medians over ${SEND_BLOCKS} blocks of ${SEND_BLOCK} sends per kind (ABBA); CPU is the Mailroom child's (the sandbox runs in its own process), read from schedstat`,
            `aim for the send: tracking adds ≤ 5 %; the sandbox answers Graph over loopback at once (first rows) or ${GRAPH_LATENCY_MS} ms later per request (below Microsoft's usual answer times for a draft and a /send)`,
            "flood: a separate autocannon process at a fixed rate, 50 connections, one address; events are capped at 60 per mail and minute (TRACKING_EVENTS_PER_MINUTE)",
          ],
        },
        data,
      };
    } finally {
      await subject.stop();
      await baseline.stop();
      receiver.closeAllConnections();
      await new Promise<void>((done) => receiver.close(() => done()));
    }
  },
};

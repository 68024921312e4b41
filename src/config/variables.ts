// Every environment variable Mailroom reads, declared once with its meaning, default and parser.
// `config.ts` turns them into a `Config`; `.env.example` documents exactly these (a test checks).
import { LOG_LEVELS, type LogLevel } from "./log-levels.ts";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

type Parser<T> = (raw: string) => T;

export interface VariableSpec<T> {
  /** One line for .env.example and error messages. */
  description: string;
  /** What a valid value looks like, for error messages. */
  expected: string;
  /** Default as written in .env.example; undefined = no default (optional or derived). */
  example: string;
  default?: string;
  parse: Parser<T>;
}

function integer(min: number, max: number): Parser<number> {
  return (raw) => {
    if (!/^\d+$/.test(raw)) throw new Error("not an integer");
    const value = Number(raw);
    if (value < min || value > max) throw new Error(`out of range ${min}–${max}`);
    return value;
  };
}

function httpUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error("not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new Error("must start with http:// or https://");
  return raw.replace(/\/+$/, "");
}

const string: Parser<string> = (raw) => {
  if (raw.trim() === "") throw new Error("empty");
  return raw;
};

/** Every environment variable Mailroom reads. `.env.example` documents exactly these (a test checks). */
export const VARIABLES = {
  HOST: {
    description: "Interface the HTTP server binds to.",
    expected: "a host name or IP address",
    example: "0.0.0.0",
    default: "0.0.0.0",
    parse: string,
  },
  PORT: {
    description: "Port of the HTTP server (API, hosted auth, dashboard).",
    expected: "an integer from 1 to 65535 (0 picks a free port)",
    example: "3000",
    default: "3000",
    parse: integer(0, 65535),
  },
  DATA_DIR: {
    description: "Directory for the SQLite database and the generated encryption key.",
    expected: "a writable directory path",
    example: "./data",
    default: "./data",
    parse: string,
  },
  PUBLIC_URL: {
    description:
      "URL at which browsers and Microsoft reach Mailroom; redirect URIs and links are built from it. Defaults to http://localhost:PORT.",
    expected: "an http:// or https:// URL without a path, e.g. https://mail.example.com",
    example: "http://localhost:3000",
    parse: httpUrl,
  },
  DATABASE_URL: {
    description:
      "Empty for the embedded SQLite database in DATA_DIR; a postgres:// URL switches to PostgreSQL (same migrations).",
    expected: "postgres://user:password@host:5432/database, or sqlite:///path/to/file.db",
    example: "",
    parse: (raw: string) => {
      if (/^postgres(ql)?:\/\//.test(raw)) return raw;
      if (raw.startsWith("sqlite://")) return raw;
      throw new Error("unsupported scheme");
    },
  },
  REDIS_URL: {
    description:
      "Empty for the embedded mode (one process). A redis:// URL switches on the scaled mode: several Mailroom processes behind a load balancer share DATABASE_URL (PostgreSQL, required) and this Redis for jobs (BullMQ), the per-mailbox limit and the sign-in rate limit. Run Redis with appendonly yes and maxmemory-policy noeviction.",
    expected: "redis://[user:password@]host:6379[/db] or rediss:// for TLS",
    example: "",
    parse: (raw: string) => {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new Error("not a URL");
      }
      if (url.protocol !== "redis:" && url.protocol !== "rediss:")
        throw new Error("must start with redis:// or rediss://");
      return raw;
    },
  },
  REDIS_PREFIX: {
    description:
      "Prefix of every Redis key Mailroom writes (jobs, limits), so several deployments can share one Redis. Every process of one deployment uses the same prefix.",
    expected: "letters, digits, '-', '_', '.' or ':' (1 to 64 characters)",
    example: "mailroom",
    default: "mailroom",
    parse: (raw: string) => {
      if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(raw)) throw new Error("unsupported characters or length");
      return raw;
    },
  },
  MAILROOM_ENCRYPTION_KEY: {
    description:
      "Key(s) that encrypt stored tokens and secrets (AES-256-GCM): base64 of 32 random bytes; several, comma-separated, during a rotation (the first encrypts). Empty: a key is generated once into DATA_DIR/encryption.key — back it up.",
    expected:
      "base64 of exactly 32 bytes (generate with: openssl rand -base64 32), comma-separated for several",
    example: "",
    parse: (raw: string) => {
      for (const part of raw.split(",")) {
        const key = Buffer.from(part.trim(), "base64");
        if (key.length !== 32) throw new Error("a key does not decode to 32 bytes");
      }
      return raw;
    },
  },
  LOG_LEVEL: {
    description: "Log verbosity.",
    expected: LOG_LEVELS.join(", "),
    example: "info",
    default: "info",
    parse: (raw: string) => {
      if (!(LOG_LEVELS as readonly string[]).includes(raw)) throw new Error("unknown level");
      return raw as LogLevel;
    },
  },
  LOG_FORMAT: {
    description:
      "Log output: 'pretty' (readable lines) or 'json' (one JSON object per line, for log collectors). Default: pretty on a terminal, json otherwise.",
    expected: "pretty or json",
    example: "",
    parse: (raw: string) => {
      if (raw !== "pretty" && raw !== "json") throw new Error("not pretty/json");
      return raw;
    },
  },
  MICROSOFT_LOGIN_URL: {
    description:
      "Base URL of the Microsoft identity platform. Defaults to the local sandbox when it runs, else https://login.microsoftonline.com.",
    expected: "an http:// or https:// URL",
    example: "https://login.microsoftonline.com",
    parse: httpUrl,
  },
  MICROSOFT_GRAPH_URL: {
    description:
      "Base URL of Microsoft Graph (without /v1.0). Defaults to the local sandbox when it runs, else https://graph.microsoft.com.",
    expected: "an http:// or https:// URL",
    example: "https://graph.microsoft.com",
    parse: httpUrl,
  },
  SANDBOX: {
    description:
      "'on' runs the Microsoft sandbox (a local emulator of Microsoft sign-in and Graph) in-process; 'off' disables it. Default: on, unless MICROSOFT_LOGIN_URL or MICROSOFT_GRAPH_URL is set.",
    expected: "on or off",
    example: "on",
    parse: (raw: string) => {
      if (raw !== "on" && raw !== "off") throw new Error("not on/off");
      return raw === "on";
    },
  },
  SANDBOX_PORT: {
    description: "Port of the in-process sandbox (login and Graph on one origin).",
    expected: "an integer from 0 to 65535",
    example: "3001",
    default: "3001",
    parse: integer(0, 65535),
  },
  TRUST_PROXY: {
    description:
      "Trust X-Forwarded-For / X-Forwarded-Proto from a reverse proxy in front of Mailroom: 'off', 'on' (any hop), or a comma-separated list of proxy addresses/CIDRs. Client addresses feed the sign-in rate limit, so only trust a proxy you run.",
    expected: "off, on, or addresses such as 127.0.0.1,10.0.0.0/8",
    example: "off",
    default: "off",
    parse: (raw: string) => {
      if (raw === "off") return false;
      if (raw === "on") return true;
      const list = raw
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean);
      if (list.length === 0 || list.some((p) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(p)))
        throw new Error("not off/on or a list of addresses");
      return list;
    },
  },
  SHUTDOWN_TIMEOUT_MS: {
    description:
      "How long SIGTERM waits for in-flight requests and jobs before exiting; a process that still cannot exit is killed 1 s later.",
    expected: "an integer number of milliseconds",
    example: "10000",
    default: "10000",
    parse: integer(0, 600_000),
  },
  WEBHOOK_ALLOW_PRIVATE_ADDRESSES: {
    description:
      "'on' lets webhooks and hosted-link notify_url callbacks reach loopback, private, link-local and cloud-metadata addresses (checked when the URL is given and again after DNS resolution at each delivery). Default: on while the embedded sandbox runs (local development), off otherwise; keep 'off' in production unless receivers run on your own network.",
    expected: "on or off",
    example: "",
    parse: (raw: string) => {
      if (raw !== "on" && raw !== "off") throw new Error("not on/off");
      return raw === "on";
    },
  },
  HOSTED_LINK_MAX_DAYS: {
    description:
      "Longest lifetime a hosted auth link may be given (its expiresOn at most this many days ahead). Empty: no maximum, as Unipile (expiresOn must still be a future ISO 8601 date-time).",
    expected: "an integer number of days from 1 to 36500",
    example: "",
    parse: integer(1, 36_500),
  },
  POLL_INTERVAL_SECONDS: {
    description:
      "How often each mailbox is checked for new mail through Graph delta queries when no Graph subscription is active (accounts are spread across the interval). Default: 30, or 5 while the sandbox runs.",
    expected: "an integer number of seconds from 1 to 86400",
    example: "",
    parse: integer(1, 86_400),
  },
  POLL_CONCURRENCY: {
    description:
      "How many mailbox polls one process runs at once. A poll mostly waits on Microsoft, so a process keeps up with about this many ÷ Graph's response time polls a second (64 at ~150 ms: ~400 a second, 12,000 mailboxes at 30 s); beyond that Mailroom stretches the interval and says so. Default: 64.",
    expected: "an integer from 1 to 1000",
    example: "",
    parse: integer(1, 1_000),
  },
  GRAPH_SUBSCRIPTIONS: {
    description:
      "Graph change notifications (push) per mailbox: 'auto' uses them when PUBLIC_URL is https (Microsoft requires it), 'on' also over http (tests, or the sandbox with allowHttpNotifications), 'off' relies on polling alone.",
    expected: "auto, on or off",
    example: "auto",
    default: "auto",
    parse: (raw: string) => {
      if (raw !== "auto" && raw !== "on" && raw !== "off") throw new Error("not auto/on/off");
      return raw;
    },
  },
  MAX_MESSAGE_MB: {
    description:
      "Largest message Mailroom accepts to send or save as a draft (body and attachments), checked while the upload streams in; Microsoft's own ceiling is 150 (a tenant's send limit may be lower).",
    expected: "an integer number of MiB from 1 to 150",
    example: "150",
    default: "150",
    parse: integer(1, 150),
  },
  EMAIL_CACHE_MB: {
    description:
      "Memory for mapped emails kept per process, so reading an unchanged email again skips its body and conversion (see EMAIL_CACHE_REVALIDATE; 0 turns the cache off).",
    expected: "an integer number of MiB from 0 to 65536",
    example: "64",
    default: "64",
    parse: integer(0, 65_536),
  },
  EMAIL_CACHE_REVALIDATE: {
    description:
      "When a cached email or page is checked against Graph: 'on-change' (default) serves it as Mailroom last saw it while realtime keeps up with the mailbox (a change made in Outlook shows once realtime has seen it: seconds with Graph subscriptions, up to a poll interval without; changes made through Mailroom show at once); 'each' asks Graph for the version on every read.",
    expected: "on-change or each",
    example: "on-change",
    default: "on-change",
    parse: (raw: string) => {
      if (raw !== "on-change" && raw !== "each") throw new Error("not on-change/each");
      return raw;
    },
  },
  EMAIL_CACHE_ACCOUNT_MB: {
    description:
      "At most this much of EMAIL_CACHE_MB for one account, so one busy mailbox cannot push out the others.",
    expected: "an integer number of MiB from 1 to 65536",
    example: "8",
    default: "8",
    parse: integer(1, 65_536),
  },
  JOB_RETENTION_HOURS: {
    description:
      "How long completed background jobs are kept (a job's idempotency key deduplicates while it is kept).",
    expected: "an integer number of hours from 1 to 8760",
    example: "24",
    default: "24",
    parse: integer(1, 8_760),
  },
  DEAD_JOB_RETENTION_DAYS: {
    description: "How long dead-lettered background jobs are kept for inspection.",
    expected: "an integer number of days from 1 to 3650",
    example: "14",
    default: "14",
    parse: integer(1, 3_650),
  },
  WEBHOOK_RETENTION_DAYS: {
    description:
      "How long webhook events, webhook deliveries and notify_url deliveries are kept; a delivery still being retried is never removed.",
    expected: "an integer number of days from 1 to 3650",
    example: "30",
    default: "30",
    parse: integer(1, 3_650),
  },
  SENT_MESSAGE_RETENTION_DAYS: {
    description: "How long Mailroom remembers the mail it sent (origin and tracking_id on mail_sent events).",
    expected: "an integer number of days from 1 to 3650",
    example: "30",
    default: "30",
    parse: integer(1, 3_650),
  },
  IDEMPOTENCY_KEY_HOURS: {
    description:
      "How long an Idempotency-Key is remembered: within it, a request with a key already used (same API key) gets the first answer again and does nothing. Housekeeping deletes expired keys.",
    expected: "an integer number of hours from 1 to 720",
    example: "24",
    default: "24",
    parse: integer(1, 720),
  },
  IDEMPOTENCY_WAIT_SECONDS: {
    description:
      "How long a request whose Idempotency-Key is held by a request still running waits for that request's answer before it is answered 409 errors/operation_canceled.",
    expected: "an integer number of seconds from 0 to 120",
    example: "30",
    default: "30",
    parse: integer(0, 120),
  },
  SCHEDULE_MAX_DAYS: {
    description: "How far ahead `send_at` may schedule an email (POST /api/v1/emails).",
    expected: "an integer number of days from 1 to 3650",
    example: "90",
    default: "90",
    parse: integer(1, 3_650),
  },
  LINK_RETENTION_DAYS: {
    description:
      "How long expired or used hosted auth links (an account's connection history) and dashboard invite links are kept.",
    expected: "an integer number of days from 1 to 3650",
    example: "30",
    default: "30",
    parse: integer(1, 3_650),
  },
  TRACKING_RETENTION_DAYS: {
    description:
      "How long tracked sends and their opens and clicks are kept; after it, the mail's pixel and links record nothing (links still redirect).",
    expected: "an integer number of days from 1 to 3650",
    example: "90",
    default: "90",
    parse: integer(1, 3_650),
  },
  TRACKING_EVENTS_PER_MINUTE: {
    description:
      "Opens and clicks recorded per tracked mail and minute, per process; requests beyond it are answered but not recorded.",
    expected: "an integer from 1 to 100000",
    example: "60",
    default: "60",
    parse: integer(1, 100_000),
  },
  REALTIME_INDEX_DAYS: {
    description:
      "Window of the per-mailbox message index that tells moves and sent drafts from new mail: mail received within it. Moves of older mail are not announced.",
    expected: "an integer number of days from 1 to 365",
    example: "30",
    default: "30",
    parse: integer(1, 365),
  },
  HOUSEKEEPING_INTERVAL_MINUTES: {
    description: "How often the housekeeping job removes what is past its retention, in small batches.",
    expected: "an integer number of minutes from 1 to 1440",
    example: "15",
    default: "15",
    parse: integer(1, 1_440),
  },
} satisfies Record<string, VariableSpec<unknown>>;

export type VariableName = keyof typeof VARIABLES;

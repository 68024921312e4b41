import { createRequire } from "node:module";
import pino, { type Logger } from "pino";
import type PinoPretty from "pino-pretty";
import { flushStdoutDestinations, stdoutLogDestination } from "./log-destination.ts";

const requireModule = createRequire(import.meta.url);

/** Paths never written to logs, whatever logs them. */
const SECRET_KEYS = [
  "password",
  "client_secret",
  "clientSecret",
  "secret",
  "access_token",
  "refresh_token",
  "accessToken",
  "refreshToken",
  "apiKey",
  "api_key",
  "token",
  "code_verifier",
];

export const REDACT_PATHS = [
  'req.headers["x-api-key"]',
  "req.headers.authorization",
  "req.headers.cookie",
  'res.headers["set-cookie"]',
  'headers["x-api-key"]',
  "headers.authorization",
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
];

export type { Logger };

export function createLogger(options: {
  level: string;
  destination?: pino.DestinationStream;
  pretty?: boolean;
}): Logger {
  // Not pino's default stdout destination: its exit-time flush can loop forever (log-destination.ts).
  const target = options.destination ?? stdoutLogDestination();
  const destination =
    options.pretty === true
      ? (requireModule("pino-pretty") as typeof PinoPretty)({
          colorize: true,
          translateTime: "SYS:HH:MM:ss",
          ignore: "pid,hostname,service",
          destination: target,
        })
      : target;
  return pino(
    {
      level: options.level,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      base: { service: "mailroom" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/**
 * Waits until the log lines written so far have left the process, at most `timeoutMs`: a stdout
 * that is gone or full and unread must not hold up an exit. Pretty output passes through
 * pino-pretty's stream pipeline first, which hands lines on asynchronously.
 */
export function flushLog(log: Logger, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    setImmediate(() =>
      log.flush(() => {
        void flushStdoutDestinations().then(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
    );
  });
}

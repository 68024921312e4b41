import { createRequire } from "node:module";
import pino, { type Logger } from "pino";
import type PinoPretty from "pino-pretty";

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
  const destination =
    options.pretty === true
      ? (requireModule("pino-pretty") as typeof PinoPretty)({
          colorize: true,
          translateTime: "SYS:HH:MM:ss",
          ignore: "pid,hostname,service",
          destination: options.destination ?? 1,
          sync: true,
        })
      : options.destination;
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

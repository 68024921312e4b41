/** Scaled mode could not start: Redis unreachable or refusing (its own file, so the CLI can recognise it without loading ioredis). */
export class RedisSetupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RedisSetupError";
  }
}

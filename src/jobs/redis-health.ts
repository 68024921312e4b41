// What a Redis server's configuration means for the BullMQ runner. Pure, so it is table-tested; the
// runner reads `CONFIG GET` at start-up and logs these warnings (managed Redis often disables CONFIG,
// which is then skipped).

/** `CONFIG GET` answers, by parameter name (`appendonly`, `save`, `maxmemory-policy`). */
export type RedisConfig = Record<string, string>;

export function redisConfigWarnings(config: RedisConfig): string[] {
  const warnings: string[] = [];
  const appendOnly = config.appendonly;
  const save = config.save;
  if (appendOnly !== undefined && save !== undefined && appendOnly !== "yes" && save.trim() === "")
    warnings.push(
      "Redis does not persist (appendonly no, no RDB save points): a Redis restart loses every queued job. Enable appendonly.",
    );
  const policy = config["maxmemory-policy"];
  if (policy !== undefined && policy !== "noeviction")
    warnings.push(
      `Redis maxmemory-policy is ${policy}: under memory pressure Redis may evict job data. BullMQ requires noeviction.`,
    );
  return warnings;
}

/** Turns the flat `[name, value, name, value, …]` reply of `CONFIG GET` into a record. */
export function parseConfigReply(reply: unknown): RedisConfig {
  const config: RedisConfig = {};
  if (!Array.isArray(reply)) return config;
  for (let i = 0; i + 1 < reply.length; i += 2) config[String(reply[i])] = String(reply[i + 1]);
  return config;
}

/** Reads the configuration and logs what `redisConfigWarnings` finds; silent when CONFIG is refused. */
export async function warnAboutRedisConfig(
  client: { call(command: string, ...args: string[]): Promise<unknown> },
  log: { warn(obj: object, msg?: string): void; debug(obj: object, msg?: string): void },
  location: string,
): Promise<void> {
  try {
    const config: RedisConfig = {};
    for (const parameter of ["appendonly", "save", "maxmemory-policy"])
      Object.assign(config, parseConfigReply(await client.call("CONFIG", "GET", parameter)));
    for (const warning of redisConfigWarnings(config)) log.warn({ redis: location }, warning);
  } catch (error) {
    // Managed Redis often disables CONFIG; the checks are advice, not a requirement.
    log.debug(
      { error: error instanceof Error ? error.message : String(error) },
      "could not read the Redis configuration",
    );
  }
}

// Graph's DateTimeOffset format for subscription expiries and notification payloads.

/** Graph prints DateTimeOffset with 7 fractional digits, e.g. 2016-11-20T18:23:45.9356913Z. */
export function graphDateTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.(\d{3})Z$/, ".$10000Z");
}

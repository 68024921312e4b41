// Deterministic randomness for the corpus: every choice derives from the seed (and a stable key),
// so the same seed always yields byte-identical mailboxes.
import { createHash } from "node:crypto";

export function hashHex(...parts: string[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex");
}

/** A uniform 32-bit integer derived from the parts. */
export function hashInt(...parts: string[]): number {
  return Number.parseInt(hashHex(...parts).slice(0, 8), 16);
}

/** A float in [0, 1) derived from the parts (stateless, order-independent). */
export function hashUnit(...parts: string[]): number {
  return hashInt(...parts) / 0x1_0000_0000;
}

export function pick<T>(items: readonly T[], ...parts: string[]): T {
  const item = items[hashInt(...parts) % items.length];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

/** mulberry32: a small fast PRNG for bulk bytes (the large attachment). */
export function prngBytes(seed: string, length: number): Buffer {
  let state = hashInt(seed, "bytes") >>> 0;
  const out = Buffer.allocUnsafe(length);
  let offset = 0;
  while (offset < length) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const value = (t ^ (t >>> 14)) >>> 0;
    for (let shift = 0; shift < 32 && offset < length; shift += 8) out[offset++] = (value >>> shift) & 0xff;
  }
  return out;
}

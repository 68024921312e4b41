// Clocks a test moves. Mailroom reads the time only through `Clock` (src/lib/clock.ts), so a test that
// needs something to expire moves the clock instead of waiting for the time to pass.
import type { Clock } from "../../src/lib/clock.ts";

export { TestClock } from "../../src/lib/clock.ts";

/**
 * Real time plus an offset the test moves. Unlike the frozen `TestClock`, time still flows, so a whole
 * Mailroom (job runner, tokens from the sandbox, which keeps real time) works as usual until the test
 * jumps ahead to make something expire.
 */
export class ShiftedClock implements Clock {
  private offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  /** Jumps ahead by `ms` (or back, for a negative `ms`). */
  advance(ms: number): void {
    this.offsetMs += ms;
  }
  /** Makes `now()` read `ms` at this instant; time flows on from there. */
  set(ms: number): void {
    this.offsetMs = ms - Date.now();
  }
  /** Back to real time. */
  reset(): void {
    this.offsetMs = 0;
  }
}

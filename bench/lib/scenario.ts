import type { LoadSettings } from "./load.ts";

export interface Settings extends LoadSettings {
  coldStartRuns: number;
  /** Node flags for the measured server (Mailroom or the sandbox), e.g. --cpu-prof: for profiling, not for the numbers. */
  subjectNodeFlags: string[];
}

export interface Table {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  notes?: string[];
}

export type ScenarioResult =
  | { status: "ok"; table: Table; data: Record<string, unknown> }
  | { status: "skipped"; reason: string }
  | { status: "broken"; error: string };

export interface Scenario {
  name: string;
  describe: string;
  run(settings: Settings, log: (line: string) => void): Promise<ScenarioResult>;
}

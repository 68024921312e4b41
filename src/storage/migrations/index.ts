import type { Migration, MigrationProvider } from "kysely";
import * as m0001 from "./0001-initial.ts";

/** Static list (no filesystem scanning): the same migrations run on SQLite and PostgreSQL. */
export const migrationProvider: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return { "0001-initial": m0001 };
  },
};

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ERROR_CODES } from "../src/lib/errors.ts";

describe("docs/errors.md", () => {
  const rows = new Map<string, number>();
  for (const line of readFileSync("docs/errors.md", "utf8").split("\n")) {
    const match = /^\| `errors\/([a-z_]+)`\s*\| (\d{3})\s*\|/.exec(line);
    if (match) rows.set(match[1]!, Number(match[2]));
  }

  it("documents every error code the API can return, with its status", () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      assert.equal(
        rows.get(code),
        spec.status,
        `errors/${code} must be documented with status ${spec.status}`,
      );
    }
  });

  it("documents no code that the API does not have", () => {
    for (const code of rows.keys())
      assert.ok(code in ERROR_CODES, `errors/${code} is documented but not in src/lib/errors.ts`);
  });

  it("uses only types from Unipile's catalogue", () => {
    const reference = readFileSync(
      new URL("../../shared/reference/unipile-api-v1.md", import.meta.url),
      "utf8",
    );
    for (const code of Object.keys(ERROR_CODES))
      assert.ok(reference.includes(`errors/${code}`), `errors/${code} is not a Unipile type`);
  });
});

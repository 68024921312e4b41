// The pure rules of full-text search (src/domain/email/list-search.ts): which filters go with
// `search`, how a search text is checked and quoted for Graph, and how Graph's page token is kept.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkSearch,
  graphSearchValue,
  pageOption,
  pageTokenOf,
  refusedWithSearch,
} from "../src/domain/email/list-search.ts";
import { isAppError } from "../src/lib/errors.ts";

describe("search rules", () => {
  it("names every filter Graph refuses beside $search, and only those", () => {
    const table: [Record<string, unknown>, string[]][] = [
      [{ search: "x" }, []],
      [{ search: "x", folder: "Inbox", role: "inbox", meta_only: true, include_headers: true }, []],
      [{ role: "all" }, []],
      [{ role: "unknown" }, []],
      [{ role: "starred" }, ["role=starred"]],
      [{ role: "important" }, ["role=important"]],
      [{ from: "a", to: "b" }, ["from", "to"]],
      [{ any_email: "a", before: "d", after: "d" }, ["any_email", "before", "after"]],
      [{ thread_id: "t", message_id: "m" }, ["thread_id", "message_id"]],
    ];
    for (const [filters, refused] of table) assert.deepEqual(refusedWithSearch(filters), refused);
  });

  it("accepts KQL with balanced quotes; refuses blank, over 4,096 characters, unbalanced quotes", () => {
    const code = (text: string) => {
      try {
        checkSearch(text);
        return "ok";
      } catch (error) {
        assert.ok(isAppError(error));
        return error.code;
      }
    };
    const table: [string, string][] = [
      ["invoice", "ok"],
      ['from:megan subject:"march invoice" hasattachments:true', "ok"],
      ["a".repeat(4096), "ok"],
      ["a".repeat(4097), "too_many_characters"],
      ["  ", "invalid_parameters"],
      ['subject:"march', "invalid_parameters"],
      ['"a" "b', "invalid_parameters"],
    ];
    for (const [text, expected] of table) assert.equal(code(text), expected, text.slice(0, 40));
  });

  it("quotes the whole search for Graph and escapes the quotes of its phrases", () => {
    assert.equal(graphSearchValue(" pizza "), '"pizza"');
    assert.equal(graphSearchValue('subject:"pizza party"'), '"subject:\\"pizza party\\""');
  });

  it("keeps Graph's $skiptoken (or a $skip) from a nextLink, and reads back only what it wrote", () => {
    const link = "https://graph.microsoft.com/v1.0/me/messages?$search=%22x%22&$top=10&$skiptoken=MSZZVlh";
    assert.equal(pageTokenOf(link), "$skiptoken=MSZZVlh");
    assert.equal(pageTokenOf("https://g/v1.0/me/messages?$skip=20"), "$skip=20");
    assert.equal(pageTokenOf("https://g/v1.0/me/messages?$top=20"), undefined);
    assert.equal(pageTokenOf("not a url"), undefined);
    assert.deepEqual(pageOption("$skiptoken=MSZZVlh"), { name: "$skiptoken", value: "MSZZVlh" });
    assert.deepEqual(pageOption("$skip=20"), { name: "$skip", value: "20" });
    for (const forged of ["$skip=x", "$top=5", "$skiptoken=", "$filter=a"])
      assert.equal(pageOption(forged), undefined, forged);
  });
});

// body_plain is derived from the HTML body (one Graph listing per page, not two): HTML rendering rules,
// and no input makes it slow.
import assert from "node:assert/strict";
import { test } from "node:test";
import { htmlToText } from "../src/domain/email/html-to-text.ts";

test("line breaks, blocks, hidden elements, entities and whitespace follow HTML rendering", () => {
  const exchangeWrapped =
    '<html><head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>\r\n<body>\r\n<div class="PlainText">Hello  there<br>\r\nline two<br>\r\n<br>\r\nafter blank</div>\r\n</body>\r\n</html>\r\n';
  assert.equal(htmlToText(exchangeWrapped), "Hello there\nline two\n\nafter blank");
  assert.equal(
    htmlToText("<p>Quarterly <b>numbers</b> 3</p><p>next &amp; more &#x1F600; &lt;tag&gt; &bogus;</p>"),
    "Quarterly numbers 3\n\nnext & more 😀 <tag> &bogus;",
  );
  assert.equal(
    htmlToText(
      "<STYLE>p{}</Style><script>alert(1)</SCRIPT><!-- note --><table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
    ),
    "a b\nc",
  );
  assert.equal(htmlToText("<pre>keep\n   spaces</pre>after"), "keep\n   spaces\nafter");
  assert.equal(htmlToText("a < b &nbsp;and <unterminated"), "a < b  and");
  assert.equal(htmlToText(""), "");
  assert.equal(htmlToText("plain text, no tags"), "plain text, no tags");
});

// No timing assertion (speed is for benchmarks): a quadratic pass over these inputs would run for
// minutes and hit the hang guard.
test("adversarial bodies finish", { timeout: 60_000 }, () => {
  assert.equal(htmlToText("<a".repeat(200_000)), "");
  assert.equal(htmlToText(`<style>${"x".repeat(1_000_000)}`), "");
  assert.equal(htmlToText(`<pre>${" ".repeat(1_000_000)}x`), "x");
  assert.equal(htmlToText("&".repeat(1_000_000)).length, 1_000_000);
  assert.equal(htmlToText("<style></style>İ".repeat(50_000)).length, 50_000);
});

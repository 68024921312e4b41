import { useState } from "react";
import { call } from "../../api.ts";
import { Alert, CopyField } from "../../ui.tsx";

export function CallbackSigning() {
  const [secret, setSecret] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const reveal = async () => {
    setError(undefined);
    try {
      setSecret((await call("POST /callback-signing/reveal")).secret);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <section className="card" aria-labelledby="signing-title">
      <h2 id="signing-title">Verifying signatures</h2>
      <p>
        Every webhook delivery is signed with that webhook's secret, and every <code>notify_url</code>{" "}
        callback of a hosted auth link with this installation's callback secret. The header reads{" "}
        <code>X-Mailroom-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex&gt;</code>, where the hex is the
        HMAC-SHA256 of <code>&lt;t&gt;.&lt;raw request body&gt;</code> with the secret as key. Accept the
        request when any <code>v1</code> matches (there are two during a secret rotation) and <code>t</code>{" "}
        is within 5 minutes; deduplicate on <code>X-Mailroom-Event-Id</code>.
      </p>
      <pre className="json">{`import { createHmac, timingSafeEqual } from "node:crypto";

function verify(secret, rawBody, header) {
  const parts = header.split(",").map((p) => p.split("="));
  const t = Number(parts.find(([k]) => k === "t")?.[1]);
  if (!(Math.abs(Date.now() / 1000 - t) <= 300)) return false;
  const expected = createHmac("sha256", secret).update(\`\${t}.\${rawBody}\`).digest();
  return parts.some(([k, v]) => k === "v1" && v &&
    Buffer.from(v, "hex").length === expected.length &&
    timingSafeEqual(Buffer.from(v, "hex"), expected));
}`}</pre>
      <h3>Callback secret for notify_url</h3>
      {secret ? (
        <CopyField value={secret} label="the callback signing secret" />
      ) : (
        <button type="button" className="secondary" onClick={reveal}>
          Reveal the callback secret
        </button>
      )}
      {error && <Alert kind="error">{error}</Alert>}
    </section>
  );
}

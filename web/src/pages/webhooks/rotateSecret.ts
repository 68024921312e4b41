import type { WebhookInfo } from "../../../../src/contracts/dashboard/index.ts";
import { call, formatTime } from "../../api.ts";
import type { Revealed } from "./SecretShownOnce.tsx";

/** Asks before rotating, then returns the new secret to show once (undefined when the operator declines). */
export async function rotateSecret(w: WebhookInfo): Promise<Revealed | undefined> {
  if (
    !window.confirm(
      `Rotate the signing secret of ${w.name ?? w.url}? The current secret keeps working for 24 hours.`,
    )
  )
    return undefined;
  const r = await call("POST /webhooks/:id/rotate-secret", { params: { id: w.id } });
  return {
    title: `New signing secret for ${w.name ?? w.url}. Copy it now: it is not shown again.`,
    secret: r.secret,
    note: `Until ${formatTime(r.previousSecretExpiresAt)} (${r.graceHours} hours) every delivery carries two v1= signatures, one with the old secret and one with this one, so your receiver can switch to the new secret without missing a delivery. After that only the new secret signs.`,
  };
}

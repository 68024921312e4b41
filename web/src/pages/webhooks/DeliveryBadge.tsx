import type { DeliveryInfo } from "../../../../src/contracts/dashboard/index.ts";

export function DeliveryBadge({ status }: { status: DeliveryInfo["status"] }) {
  const tone = status === "delivered" ? "ok" : status === "failed" ? "bad" : "neutral";
  return <span className={`badge badge-${tone}`}>{status}</span>;
}

// Whether Mailroom may call a URL, decided when the operator hands it over (webhook creation,
// hosted-link creation), so a refused destination is a 400 then rather than a silent failure later.
// The same policy is applied again at connect time by the transport (DNS may change in between).
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { AppError } from "../lib/errors.ts";
import { ALLOW_PRIVATE_VARIABLE, refusalMessage, refusedAddress } from "./address-policy.ts";
import type { DnsLookup } from "./http-transport.ts";
import { checkUrl } from "./url.ts";

export interface DestinationPolicy {
  /** WEBHOOK_ALLOW_PRIVATE_ADDRESSES (default: on while the embedded sandbox runs). */
  allowPrivateAddresses: boolean;
  lookup?: DnsLookup | undefined;
}

export class DestinationGuard {
  private readonly lookup: DnsLookup;

  constructor(readonly policy: DestinationPolicy) {
    this.lookup = policy.lookup ?? dnsLookup;
  }

  /** The URL's syntax only (for URLs Mailroom never calls itself, such as redirect targets). */
  url(raw: string, field: string): URL {
    const checked = checkUrl(raw);
    if (!checked.ok) throw new AppError("invalid_parameters", { detail: `${field}: ${checked.reason}` });
    return checked.url;
  }

  /**
   * A URL Mailroom will POST to: valid and, when private addresses are refused, its host resolves to
   * public addresses only. With private addresses allowed there is nothing to refuse by address, so
   * the name is not looked up (a receiver whose DNS is not set up yet is a delivery error, shown in
   * the delivery log). Throws invalid_parameters naming `field` (and the variable, when it refuses).
   */
  async callable(raw: string, field: string): Promise<URL> {
    const url = this.url(raw, field);
    if (this.policy.allowPrivateAddresses) return url;
    const host = url.hostname.replace(/^\[|\]$/g, "");
    let addresses: string[];
    try {
      addresses = await this.resolve(host);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new AppError("invalid_parameters", {
        detail: `${field}: the host name ${host} could not be resolved (${code}); check the name, or create it once the name is in DNS`,
      });
    }
    const refused = refusedAddress(addresses, this.policy.allowPrivateAddresses);
    if (refused)
      throw new AppError("invalid_parameters", {
        detail: `${field}: ${refusalMessage(host, refused)}. Set ${ALLOW_PRIVATE_VARIABLE}=on only if receivers run on your own network.`,
      });
    return url;
  }

  private resolve(host: string): Promise<string[]> {
    return new Promise((resolve, reject) => {
      this.lookup(host, { all: true }, (error, answer) => {
        if (error) return reject(error);
        const list = (answer as unknown as LookupAddress[]).map((a) => a.address);
        if (list.length === 0) return reject(new Error("no address"));
        resolve(list);
      });
    });
  }
}

// The tracking key: 32 random bytes made once, stored encrypted with Mailroom's keyring like every
// other secret (so `keys rotate` re-encrypts it and tracked links in mail already sent keep working),
// and read by every process that answers tracked URLs.
import { randomBytes } from "node:crypto";
import type { Clock } from "../../lib/clock.ts";
import type { SecretBox } from "../../lib/crypto.ts";
import type { SettingsRepository } from "../../storage/repositories/settings.repository.ts";

const SETTING = "tracking.key";

export class TrackingKey {
  private loading: Promise<Buffer> | undefined;

  constructor(
    private readonly repo: Pick<SettingsRepository, "get" | "insertIfAbsent">,
    private readonly secrets: SecretBox,
    private readonly clock: Clock,
  ) {}

  get(): Promise<Buffer> {
    this.loading ??= this.load().catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }

  private async load(): Promise<Buffer> {
    const row = await this.repo.get(SETTING);
    if (row?.secret) return Buffer.from(this.secrets.decrypt(row.secret), "base64url");
    await this.repo.insertIfAbsent({
      key: SETTING,
      value: null,
      secret: this.secrets.encrypt(randomBytes(32).toString("base64url")),
      updated_at: this.clock.now(),
    });
    // Another process may have made one at the same time: the stored one wins.
    const stored = await this.repo.get(SETTING);
    if (!stored?.secret) throw new Error("The tracking key could not be stored");
    return Buffer.from(this.secrets.decrypt(stored.secret), "base64url");
  }
}

// Secrets at rest: AES-256-GCM with a versioned envelope that names its key.
//   mr1.<keyId>.<iv>.<ciphertext>.<tag>   (base64url parts; keyId = first 8 hex of SHA-256(key))
// A keyring holds every key that may still be in use; the first one encrypts. Rotation adds a key in
// front, re-encrypts every stored secret, and the service decrypts with either key meanwhile.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

const VERSION = "mr1";
const IV_BYTES = 12;

export class KeyringError extends Error {
  constructor(
    message: string,
    readonly code: "unknown_key" | "corrupt" | "bad_key",
  ) {
    super(message);
    this.name = "KeyringError";
  }
}

export function keyIdOf(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 8);
}

export function generateKey(): Buffer {
  return randomBytes(32);
}

/**
 * What services that store secrets are given: encrypt to an envelope, decrypt one. The composition
 * root supplies the keyring provider (key files, reload after rotation); services never see keys.
 */
export interface SecretBox {
  encrypt(plaintext: string): string;
  decrypt(envelope: string): string;
}

export class Keyring {
  private readonly keys = new Map<string, Buffer>();
  readonly primaryId: string;

  /** @param keys first = primary (encrypts); all decrypt. */
  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new KeyringError("no encryption key", "bad_key");
    for (const key of keys) {
      if (key.length !== 32) throw new KeyringError("an encryption key must be 32 bytes", "bad_key");
      this.keys.set(keyIdOf(key), key);
    }
    this.primaryId = keyIdOf(keys[0]!);
  }

  static fromBase64List(list: string): Keyring {
    return new Keyring(
      list
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean)
        .map((part) => Buffer.from(part, "base64")),
    );
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  encrypt(plaintext: string): string {
    const key = this.keys.get(this.primaryId)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    // The key id is bound as associated data so an envelope cannot be relabelled.
    cipher.setAAD(Buffer.from(`${VERSION}.${this.primaryId}`));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [
      VERSION,
      this.primaryId,
      iv.toString("base64url"),
      body.toString("base64url"),
      tag.toString("base64url"),
    ].join(".");
  }

  decrypt(envelope: string): string {
    const parts = envelope.split(".");
    if (parts.length !== 5 || parts[0] !== VERSION)
      throw new KeyringError("not a Mailroom secret envelope", "corrupt");
    const [, keyId, iv, body, tag] = parts as [string, string, string, string, string];
    const key = this.keys.get(keyId);
    if (!key) {
      throw new KeyringError(
        `secret was encrypted with key ${keyId}, which is not configured (configured: ${this.keyIds.join(", ")})`,
        "unknown_key",
      );
    }
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
      decipher.setAAD(Buffer.from(`${VERSION}.${keyId}`));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString(
        "utf8",
      );
    } catch (cause) {
      throw Object.assign(
        new KeyringError("secret failed authentication (corrupt or wrong key)", "corrupt"),
        { cause },
      );
    }
  }

  /** Key id named by an envelope, without decrypting. */
  static keyIdOfEnvelope(envelope: string): string | undefined {
    const parts = envelope.split(".");
    return parts[0] === VERSION ? parts[1] : undefined;
  }
}

/** One-way hash for API keys and link tokens: SHA-256 is right for high-entropy random tokens. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/**
 * Envelopes decrypted once: the plaintext is remembered by its envelope, so a secret read again
 * unchanged (a webhook's signing secret, an account's access token on every Graph request) skips
 * AES-GCM. A changed secret is a new envelope (a refresh, a rotation), so nothing stale is answered.
 * At most `limit` are kept; the oldest is forgotten first.
 */
export class DecryptedEnvelopes implements Pick<SecretBox, "decrypt"> {
  private readonly plain = new Map<string, string>();

  constructor(
    private readonly box: Pick<SecretBox, "decrypt">,
    private readonly limit: number,
  ) {}

  decrypt(envelope: string): string {
    let secret = this.plain.get(envelope);
    if (secret === undefined) {
      secret = this.box.decrypt(envelope);
      if (this.plain.size >= this.limit) this.plain.delete(this.plain.keys().next().value as string);
      this.plain.set(envelope, secret);
    }
    return secret;
  }
}

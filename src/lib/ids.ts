import { randomBytes } from "node:crypto";

/** A path-safe id: base64url of 16 random bytes, 22 characters (as Unipile's ids). */
export function newId(random: (size: number) => Buffer = randomBytes): string {
  return random(16).toString("base64url");
}

export const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

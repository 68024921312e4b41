// `/_sandbox/users`: list, look up and create sandbox users (work, personal, no mailbox, admin, shared).

import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { deterministicGuid, personalAccountOid } from "../seed.ts";
import { CONSUMERS_TENANT_ID, type SandboxState, type SandboxUser, type UserKind } from "../state.ts";
import { asBody, bad, optBool, optString } from "./input.ts";

const KINDS: readonly UserKind[] = ["work", "personal", "no_mailbox", "admin", "shared"];

export function userJson(user: SandboxUser): Record<string, unknown> {
  return {
    id: user.id,
    email: user.email,
    password: user.password,
    kind: user.kind,
    tenant_id: user.tenantId,
    display_name: user.displayName,
    has_mailbox: user.hasMailbox,
    is_admin: user.isTenantAdmin,
    disabled: user.disabled,
  };
}

export function registerUserRoutes(app: FastifyInstance, state: SandboxState): void {
  app.get("/_sandbox/users", async () => [...state.users.values()].map(userJson));

  app.get<{ Params: { id: string } }>("/_sandbox/users/:id", async (req, reply) => {
    const user = state.users.get(req.params.id) ?? state.userByEmail(req.params.id);
    if (!user) return reply.code(404).send({ error: "not_found", message: "Unknown user." });
    return userJson(user);
  });

  app.post("/_sandbox/users", async (req, reply) => {
    const body = asBody(req.body);
    const email = optString(body, "email")?.trim();
    if (!email || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) bad("'email' must be an email address.");
    if (state.userByEmail(email)) bad(`A user with email '${email}' already exists.`);
    const kindRaw = optString(body, "kind") ?? "work";
    if (!(KINDS as readonly string[]).includes(kindRaw)) bad(`'kind' must be one of ${KINDS.join(", ")}.`);
    const kind = kindRaw as UserKind;
    // A shared mailbox's account has sign-in blocked (Microsoft 365 creates it so): no usable password.
    const password =
      kind === "shared"
        ? randomBytes(18).toString("base64url")
        : (optString(body, "password") ?? "Sandbox!2345");
    if (password.length < 8) bad("'password' must be at least 8 characters.");
    let tenantId: string;
    if (kind === "personal") {
      tenantId = CONSUMERS_TENANT_ID;
    } else {
      const tenantRef =
        optString(body, "tenant_id") ?? optString(body, "tenant") ?? email.split("@")[1] ?? "";
      const tenant = [...state.tenants.values()].find(
        (t) =>
          t.id !== CONSUMERS_TENANT_ID &&
          (t.id.toLowerCase() === tenantRef.toLowerCase() ||
            t.domain.toLowerCase() === tenantRef.toLowerCase()),
      );
      if (!tenant) bad(`Unknown tenant '${tenantRef}' (give 'tenant_id' as a tenant GUID or domain).`);
      tenantId = tenant.id;
    }
    const local = email.split("@")[0] ?? email;
    const [first = local, ...rest] = local.split(/[._-]/).map((p) => p.charAt(0).toUpperCase() + p.slice(1));
    const displayName = optString(body, "display_name") ?? [first, ...rest].join(" ");
    const hasMailbox = kind === "shared" || (optBool(body, "has_mailbox") ?? kind !== "no_mailbox");
    const user: SandboxUser = {
      id: kind === "personal" ? personalAccountOid(email) : deterministicGuid(`user:${email.toLowerCase()}`),
      tenantId,
      email,
      password,
      displayName,
      givenName: optString(body, "given_name") ?? first,
      surname: optString(body, "surname") ?? rest.join(" "),
      kind,
      hasMailbox,
      isTenantAdmin: optBool(body, "is_admin") ?? kind === "admin",
      passwordChangedAt: 0,
      disabled: kind === "shared",
    };
    state.users.set(user.id, user);
    // The Graph module listens for this to create a mailbox for users added at runtime.
    state.events.emit("user-created", user);
    return reply.code(201).send(userJson(user));
  });
}

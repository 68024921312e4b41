import { Type } from "typebox";

const Status = Type.Union([
  Type.Literal("OK"),
  Type.Literal("STOPPED"),
  Type.Literal("ERROR"),
  Type.Literal("CREDENTIALS"),
  Type.Literal("PERMISSIONS"),
  Type.Literal("CONNECTING"),
]);
const MailParams = Type.Object({ id: Type.String(), username: Type.String() });

export const AccountSchema = Type.Object({
  object: Type.Literal("Account"),
  type: Type.Literal("OUTLOOK"),
  id: Type.String(),
  name: Type.String(),
  created_at: Type.String({ format: "date-time" }),
  connection_params: Type.Object({ mail: MailParams, calendar: MailParams }),
  groups: Type.Array(Type.String()),
  sources: Type.Array(Type.Object({ id: Type.String(), status: Status })),
  status_reason: Type.Optional(Type.String()),
  reached_through: Type.Optional(
    Type.Object(
      { account_id: Type.String(), username: Type.String() },
      {
        description:
          "Mailroom extension: this account is a shared mailbox opened through the connected account named here (its sign-in and tokens are that account's).",
      },
    ),
  ),
});

export const AccountListSchema = Type.Object({
  object: Type.Literal("AccountList"),
  items: Type.Array(AccountSchema),
  cursor: Type.Union([Type.String(), Type.Null()]),
});

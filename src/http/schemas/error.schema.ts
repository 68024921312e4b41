import { Type } from "typebox";

export const ErrorSchema = Type.Object(
  {
    status: Type.Integer(),
    type: Type.String({ examples: ["errors/invalid_parameters"] }),
    title: Type.String(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
  },
  { $id: "Error", description: "Unipile's error body" },
);

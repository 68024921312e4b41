// Outcomes of the Microsoft credential check: the settings service decides them, the dashboard
// explains them. Imports nothing.

export const CHECK_RESULTS = [
  "valid",
  "wrong_secret",
  "expired_secret",
  "unknown_app",
  "single_tenant_app",
  "unreachable",
  "unknown_error",
] as const;
export type CheckResult = (typeof CHECK_RESULTS)[number];

// Server-rendered pages of the hosted connect wizard: no JavaScript, readable on a phone.
import { html, type Raw } from "./html.ts";

const STYLE = `
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f3f4f6;
font-family:"Segoe UI",-apple-system,BlinkMacSystemFont,Roboto,"Helvetica Neue",Arial,"Liberation Sans","DejaVu Sans",sans-serif;color:#111827}
main{width:100%;max-width:440px;margin:24px;background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.08),0 8px 24px rgba(0,0,0,.06);padding:36px 32px}
h1{font-size:22px;margin:0 0 8px}
p{line-height:1.5;margin:0 0 16px;color:#374151}
.brand{font-size:13px;font-weight:600;letter-spacing:.04em;text-transform:uppercase;color:#6b7280;margin-bottom:20px}
.provider{display:flex;align-items:center;gap:14px;width:100%;padding:14px 16px;border:1px solid #d1d5db;border-radius:8px;background:#fff;
font-size:16px;font-weight:600;color:#111827;cursor:pointer;text-align:left}
.provider:hover,.provider:focus{border-color:#2563eb;outline:2px solid #bfdbfe}
.provider small{display:block;font-weight:400;color:#6b7280;font-size:13px;margin-top:2px}
.ms{display:grid;grid-template-columns:10px 10px;gap:2px;flex:none}
.ms span{width:10px;height:10px;display:block}
.note{font-size:13px;color:#6b7280;margin-top:20px}
.icon{width:48px;height:48px;border-radius:50%;display:flex;align-items:center;justify-content:center;font-size:26px;margin-bottom:16px}
.ok{background:#dcfce7;color:#166534}.err{background:#fee2e2;color:#991b1b}
a.button{display:inline-block;margin-top:8px;padding:10px 16px;border-radius:8px;background:#2563eb;color:#fff;text-decoration:none;font-weight:600}
code{background:#f3f4f6;padding:2px 6px;border-radius:4px;font-size:13px}
`;

function layout(title: string, body: Raw, head: Raw = html``): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">${head}
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body><main>${body}</main></body>
</html>`.html;
}

const microsoftLogo = html`<span class="ms" aria-hidden="true"><span style="background:#f25022"></span><span style="background:#7fba00"></span><span style="background:#00a4ef"></span><span style="background:#ffb900"></span></span>`;

export function providerPage(p: {
  product: string;
  actionUrl: string;
  reconnectEmail?: string | undefined;
}): string {
  return layout(
    `Connect your mailbox – ${p.product}`,
    html`<div class="brand">${p.product}</div>
<h1>${p.reconnectEmail ? "Reconnect your mailbox" : "Connect your mailbox"}</h1>
<p>${p.reconnectEmail ? html`Sign in again as <strong>${p.reconnectEmail}</strong> so ${p.product} can keep reading and sending your email.` : html`${p.product} will be able to read, organise and send email from the mailbox you choose.`}</p>
<form method="post" action="${p.actionUrl}">
<button class="provider" type="submit" id="provider-microsoft" name="provider" value="OUTLOOK">${microsoftLogo}<span>Microsoft<small>Outlook.com, Hotmail and Microsoft 365</small></span></button>
</form>
<p class="note">You will sign in on Microsoft's own page. ${p.product} never sees your password, and you can remove its access at any time from your Microsoft account.</p>`,
  );
}

/** Seconds the success page stays before it continues to success_redirect_url on its own. */
export const SUCCESS_SCREEN_SECONDS = 3;

export function successPage(p: {
  product: string;
  email: string;
  reconnected: boolean;
  continueUrl?: string | undefined;
}): string {
  // Without JavaScript (the CSP allows none), a meta refresh moves on, and the link does it at once.
  const head = p.continueUrl
    ? html`
<meta http-equiv="refresh" content="${SUCCESS_SCREEN_SECONDS};url=${p.continueUrl}">`
    : html``;
  return layout(
    "Mailbox connected",
    html`<div class="icon ok" aria-hidden="true">✓</div>
<h1>${p.reconnected ? "Mailbox reconnected" : "Mailbox connected"}</h1>
${
  p.continueUrl
    ? html`<p><strong>${p.email}</strong> is now connected to ${p.product}.</p>
<a class="button" id="continue" href="${p.continueUrl}">Continue</a>`
    : html`<p><strong>${p.email}</strong> is now connected to ${p.product}. You can close this window.</p>`
}`,
    head,
  );
}

export function failurePage(p: {
  product: string;
  title: string;
  message: string;
  reason: string;
  adminConsentUrl?: string | undefined;
}): string {
  return layout(
    p.title,
    html`<div class="icon err" aria-hidden="true">!</div>
<h1>${p.title}</h1>
<p>${p.message}</p>
${p.adminConsentUrl ? html`<p>If you are an administrator of your organisation, you can approve ${p.product} for everyone:</p><a class="button" id="admin-consent" href="${p.adminConsentUrl}">Approve as administrator</a>` : ""}
<p class="note">Reference: <code>${p.reason}</code></p>`,
  );
}

export const FAILURE_TITLES: Record<string, string> = {
  expired_link: "This link has expired",
  used_link: "This link was already used",
  user_cancelled: "Sign-in cancelled",
  consent_declined: "Permissions declined",
  admin_consent_required: "Administrator approval needed",
  wrong_account: "A different mailbox was used",
  no_mailbox: "No mailbox found",
  wrong_tenant: "This account cannot be used",
  app_misconfigured: "Connection is not available right now",
  invalid_state: "This sign-in could not be completed",
  provider_error: "Microsoft could not complete the sign-in",
};

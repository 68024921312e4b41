// Server-rendered sign-in pages that look like login.microsoftonline.com and work without
// JavaScript. Element ids and names are Microsoft's (i0116/loginfmt, i0118/passwd,
// idSIButton9, idBtn_Back) so browser automation written for the real pages works here.

export function escapeHtml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

const FONT =
  '"Segoe UI", "Segoe UI Web (West European)", -apple-system, BlinkMacSystemFont, Roboto, "Helvetica Neue", Arial, sans-serif';

const STYLE = `
*{box-sizing:border-box}
html,body{margin:0;height:100%}
body{font-family:${FONT};background:#f2f2f2;color:#1b1b1b;font-size:15px;display:flex;align-items:center;justify-content:center;min-height:100vh}
.card{background:#fff;width:440px;max-width:100%;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2);margin:20px}
.logo{display:block;margin-bottom:16px}
#loginHeader,.title{font-size:1.5rem;font-weight:600;line-height:1.75rem;margin:16px 0 12px}
.identity{font-size:15px;margin-bottom:4px;color:#1b1b1b}
input[type=email],input[type=text],input[type=password]{width:100%;font-family:inherit;font-size:15px;padding:6px 0;border:0;border-bottom:1px solid rgba(0,0,0,.6);outline:none;background:transparent;margin:8px 0 16px}
input[type=email]:focus,input[type=password]:focus,input[type=text]:focus{border-bottom-color:#0067b8}
.error{color:#e81123;margin:8px 0}
.buttons{display:flex;flex-direction:row-reverse;justify-content:flex-start;gap:4px;margin-top:24px}
.btn{font-family:inherit;font-size:15px;min-width:108px;height:32px;padding:4px 12px;border:0;cursor:pointer}
#idSIButton9{background:#0067b8;color:#fff}
#idSIButton9:hover{background:#005da6}
#idBtn_Back{background:#ccc;color:#000}
a{color:#0067b8;text-decoration:none}
a:hover{text-decoration:underline;color:#666}
.small{font-size:13px;color:#1b1b1b}
.muted{color:#605e5c;font-size:13px}
ul.perms{list-style:none;padding:0;margin:8px 0 16px}
ul.perms li{padding:6px 0 6px 24px;position:relative}
ul.perms li::before{content:"";position:absolute;left:4px;top:13px;width:8px;height:8px;border-right:2px solid #605e5c;border-bottom:2px solid #605e5c;transform:rotate(-45deg)}
.app{display:flex;align-items:center;gap:12px;margin:12px 0}
.app .tile{width:40px;height:40px;background:#0067b8;color:#fff;display:flex;align-items:center;justify-content:center;font-weight:600}
.unverified{color:#605e5c;font-size:13px}
.tiles button{display:block;width:100%;text-align:left;background:#fff;border:0;border-bottom:1px solid #e6e6e6;padding:12px 8px;font-family:inherit;font-size:15px;cursor:pointer}
.tiles button:hover{background:#e6e6e6}
.tiles .sub{display:block;color:#605e5c;font-size:13px}
.details{font-size:13px;background:#f2f2f2;padding:12px;margin-top:16px;word-break:break-word}
.footer{position:fixed;bottom:0;right:0;font-size:12px;padding:8px 16px;color:#1b1b1b}
`;

const LOGO = `<svg class="logo" xmlns="http://www.w3.org/2000/svg" width="108" height="24" viewBox="0 0 108 24" role="img" aria-label="Microsoft"><rect x="0" y="1" width="10" height="10" fill="#f25022"/><rect x="11" y="1" width="10" height="10" fill="#7fba00"/><rect x="0" y="12" width="10" height="10" fill="#00a4ef"/><rect x="11" y="12" width="10" height="10" fill="#ffb900"/><text x="27" y="17.5" font-family="Segoe UI, Arial, sans-serif" font-size="15.5" font-weight="600" fill="#737373">Microsoft</text></svg>`;

function layout(title: string, inner: string): string {
  return `<!DOCTYPE html>
<html dir="ltr" lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="robots" content="none">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<div class="card">
${LOGO}
${inner}
</div>
<div class="footer"><a href="#">Terms of use</a> &nbsp; <a href="#">Privacy &amp; cookies</a> &nbsp; ...</div>
</body>
</html>`;
}

function hidden(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join("\n");
}

/** Primary first in the DOM so Enter submits it; CSS shows it on the right like Microsoft's. */
function buttons(primary: string, secondary?: string): string {
  const back = secondary
    ? `<input type="submit" id="idBtn_Back" class="btn" name="action" value="${escapeHtml(secondary)}" formnovalidate>`
    : "";
  return `<div class="buttons"><input type="submit" id="idSIButton9" class="btn" name="action" value="${escapeHtml(primary)}">${back}</div>`;
}

export interface FormTarget {
  action: string;
  ctx: string;
}

export function emailPage(
  target: FormTarget,
  opts: { prefill?: string | undefined; error?: string | undefined; showBack: boolean },
): string {
  const error = opts.error
    ? `<div id="usernameError" class="error" role="alert" aria-live="assertive">${escapeHtml(opts.error)}</div>`
    : "";
  return layout(
    "Sign in to your account",
    `<div id="loginHeader" role="heading" aria-level="1">Sign in</div>
<form name="f1" id="i0281" method="post" action="${escapeHtml(target.action)}" novalidate autocomplete="off">
${hidden({ ctx: target.ctx, step: "email" })}
${error}
<input type="email" name="loginfmt" id="i0116" maxlength="113" lang="en" class="form-control" aria-required="true" placeholder="Email, phone, or Skype" aria-label="Enter your email, phone, or Skype." value="${escapeHtml(opts.prefill ?? "")}" autofocus>
<div class="small">No account? <a href="#" id="signup">Create one!</a></div>
<div class="small" style="margin-top:16px"><a href="#" id="cantAccessAccount">Can’t access your account?</a></div>
${buttons("Next", opts.showBack ? "Back" : undefined)}
</form>`,
  );
}

export function passwordPage(
  target: FormTarget,
  opts: {
    email: string;
    error?: string | undefined;
    /** Where "Use another account" leads: the username page, for a pre-filled (login_hint) account too. */
    otherAccountUrl?: string | undefined;
  },
): string {
  const other = opts.otherAccountUrl
    ? `<div class="small"><a id="otherAccount" href="${escapeHtml(opts.otherAccountUrl)}">Use another account</a></div>`
    : "";
  const error = opts.error
    ? `<div id="passwordError" class="error" role="alert" aria-live="assertive">${opts.error}</div>`
    : "";
  return layout(
    "Sign in to your account",
    `<div class="identity" id="displayName" title="${escapeHtml(opts.email)}">${escapeHtml(opts.email)}</div>
<div id="loginHeader" role="heading" aria-level="1">Enter password</div>
<form name="f1" id="i0281" method="post" action="${escapeHtml(target.action)}" novalidate autocomplete="off">
${hidden({ ctx: target.ctx, step: "password", loginfmt: opts.email })}
${error}
<input name="passwd" type="password" id="i0118" autocomplete="off" class="form-control" aria-required="true" placeholder="Password" aria-label="Enter the password for ${escapeHtml(opts.email)}" autofocus>
<div class="small"><a id="idA_PWD_ForgotPassword" href="#">Forgot my password</a></div>
${other}
${buttons("Sign in", "Back")}
</form>`,
  );
}

/** Microsoft's wording for a wrong password (the link is part of the message). */
export const WRONG_PASSWORD_HTML =
  'Your account or password is incorrect. If you don\'t remember your password, <a id="idA_IL_ForgotPassword0" href="#">reset it now.</a>';
export const ACCOUNT_LOCKED_HTML =
  "Your account has been locked. Contact your support person to unlock it, then try again.";

export interface PickerAccount {
  id: string;
  email: string;
  displayName: string;
}

export function accountPickerPage(target: FormTarget, accounts: PickerAccount[]): string {
  const tiles = accounts
    .map(
      (a) =>
        `<button type="submit" name="account" value="${escapeHtml(a.id)}" data-test-id="${escapeHtml(a.email)}"><span>${escapeHtml(a.displayName)}</span><span class="sub">${escapeHtml(a.email)}</span></button>`,
    )
    .join("\n");
  return layout(
    "Sign in to your account",
    `<div id="loginHeader" role="heading" aria-level="1">Pick an account</div>
<form name="f1" method="post" action="${escapeHtml(target.action)}">
${hidden({ ctx: target.ctx, step: "picker" })}
<div class="tiles" id="tilesHolder">
${tiles}
<button type="submit" name="account" value="other" id="otherTile"><span>Use another account</span></button>
</div>
<div class="buttons"><input type="submit" id="idBtn_Back" class="btn" name="action" value="Back"></div>
</form>`,
  );
}

export function consentPage(
  target: FormTarget,
  opts: {
    appName: string;
    email: string;
    permissions: string[];
    personal: boolean;
    /** Offer "Consent on behalf of your organization" (admins) or grant for the tenant (admin-consent endpoint). */
    onBehalf: "checkbox" | "tenant" | "none";
  },
): string {
  const items = opts.permissions.map((p) => `<li>${escapeHtml(p)}</li>`).join("\n");
  const app = `<div class="app"><div class="tile">${escapeHtml(opts.appName.slice(0, 1).toUpperCase())}</div><div><div id="appName">${escapeHtml(opts.appName)}</div><div class="unverified" id="publisher">unverified</div></div></div>`;
  if (opts.personal) {
    return layout(
      "Permissions requested",
      `<div class="identity">${escapeHtml(opts.email)}</div>
<div class="title" role="heading" aria-level="1">Let this app access your info?</div>
${app}
<div>${escapeHtml(opts.appName)} needs your permission to:</div>
<ul class="perms" id="permissionsList">${items}</ul>
<p class="muted">Accepting these permissions means that you allow this app to use your data as specified in their terms of service and privacy statement. The publisher has not provided links to their terms for you to review. You can change these permissions at https://microsoft.com/consent.</p>
<form name="f1" method="post" action="${escapeHtml(target.action)}">
${hidden({ ctx: target.ctx, step: "consent" })}
${buttons("Yes", "No")}
</form>`,
    );
  }
  const onBehalf =
    opts.onBehalf === "checkbox"
      ? `<div><label><input type="checkbox" name="ConsentOnBehalf" id="ConsentOnBehalf" value="true"> Consent on behalf of your organization</label></div>`
      : "";
  const lead =
    opts.onBehalf === "tenant"
      ? "This app would like to (for all users in your organization):"
      : "This app would like to:";
  return layout(
    "Permissions requested",
    `<div class="identity">${escapeHtml(opts.email)}</div>
<div class="title" role="heading" aria-level="1">Permissions requested${opts.onBehalf === "tenant" ? '<br><span class="muted">Review for your organization</span>' : ""}</div>
${app}
<div>${lead}</div>
<ul class="perms" id="permissionsList">${items}</ul>
${onBehalf}
<p class="muted">Accepting these permissions means that you allow this app to use your data as specified in their terms of service and privacy statement. The publisher has not provided links to their terms for you to review. You can change these permissions at https://myapps.microsoft.com. <a href="#">Show details</a></p>
<p class="muted">Does this app look suspicious? <a href="#">Report it here</a></p>
<form name="f1" method="post" action="${escapeHtml(target.action)}">
${hidden({ ctx: target.ctx, step: "consent" })}
${onBehalf ? "" : ""}
${buttons("Accept", "Cancel")}
</form>`,
  );
}

export function adminApprovalPage(opts: {
  appName: string;
  email: string;
  returnUrl: string;
  adminSignInUrl: string;
}): string {
  return layout(
    "Need admin approval",
    `<div class="identity">${escapeHtml(opts.email)}</div>
<div class="title" role="heading" aria-level="1" id="adminApprovalHeader">Need admin approval</div>
${`<div class="app"><div class="tile">${escapeHtml(opts.appName.slice(0, 1).toUpperCase())}</div><div><div id="appName">${escapeHtml(opts.appName)}</div><div class="unverified">unverified</div></div></div>`}
<p>${escapeHtml(opts.appName)} needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.</p>
<p><a id="adminAccountLink" href="${escapeHtml(opts.adminSignInUrl)}">Have an admin account? Sign in with that account</a></p>
<p><a id="returnToApp" href="${escapeHtml(opts.returnUrl)}">Return to the application without granting consent</a></p>`,
  );
}

export function errorPage(opts: {
  code: number;
  message: string;
  requestId: string;
  correlationId: string;
  timestamp: string;
  appName?: string | undefined;
}): string {
  return layout(
    "Sign in to your account",
    `<div class="title" role="heading" aria-level="1" id="errorHeader">Sorry, but we’re having trouble signing you in.</div>
<div id="errorMessage">AADSTS${opts.code}: ${escapeHtml(opts.message)}</div>
<div class="details" id="debugDetails">
<div><b>Troubleshooting details</b></div>
<div>If you contact your administrator, send this info to them.</div>
<div><span>Request Id: </span><span id="requestId">${escapeHtml(opts.requestId)}</span></div>
<div><span>Correlation Id: </span><span id="correlationId">${escapeHtml(opts.correlationId)}</span></div>
<div><span>Timestamp: </span><span id="timestamp">${escapeHtml(opts.timestamp)}</span></div>
${opts.appName ? `<div><span>App name: </span><span>${escapeHtml(opts.appName)}</span></div>` : ""}
<div><span>Message: </span><span id="errorCode">AADSTS${opts.code}: ${escapeHtml(opts.message)}</span></div>
</div>`,
  );
}

export function signedOutPage(): string {
  return layout(
    "Sign out",
    `<div class="title" role="heading" aria-level="1">You signed out of your account</div>
<p>It’s a good idea to close all browser windows.</p>`,
  );
}

/** response_mode=form_post: auto-submits with script, and offers a button when script is off. */
export function formPostPage(action: string, fields: Record<string, string>): string {
  return `<!DOCTYPE html><html><head><title>Working...</title></head><body>
<form method="POST" name="hiddenform" action="${escapeHtml(action)}">
${hidden(fields)}
<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"></noscript>
</form>
<script>document.forms[0].submit();</script>
</body></html>`;
}

export function errorCodePage(code: string, description: string): string {
  return layout(
    `Error ${code}`,
    `<div class="title" role="heading" aria-level="1">Error code ${escapeHtml(code)}</div><p>${escapeHtml(description)}</p>`,
  );
}

// A small hand-written corpus for what the 2002 SpamAssassin mail lacks: non-ASCII subjects and
// names (French, Japanese, Arabic, emoji), a large attachment, inline images referenced by cid:,
// and HTML-only / text-only bodies. Every value is fixed or derived from the seed.
import { hashHex, prngBytes } from "./random.ts";
import type { CorpusAddress, CorpusAttachment, CorpusMessage } from "./types.ts";

/** A valid 1x1 PNG (a red pixel). */
const TINY_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==",
  "base64",
);
const LARGE_ATTACHMENT_BYTES = 4 * 1024 * 1024;
const largeAttachmentCache = new Map<string, Buffer>();

/** ~4 MB of PDF-looking bytes: a real PDF header and trailer around seeded noise. */
function largePdf(seed: string): Buffer {
  const cached = largeAttachmentCache.get(seed);
  if (cached) return cached;
  const head = Buffer.from(
    "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n",
    "latin1",
  );
  const tail = Buffer.from("\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n", "latin1");
  const body = prngBytes(`${seed}:board-pack`, LARGE_ATTACHMENT_BYTES - head.length - tail.length);
  const pdf = Buffer.concat([head, body, tail]);
  largeAttachmentCache.set(seed, pdf);
  return pdf;
}

/** RFC 2047 encoded-word for header values, as real MUAs send non-ASCII headers. */
export function encodeHeaderWord(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII range check
  return /^[\x00-\x7f]*$/.test(value)
    ? value
    : `=?UTF-8?B?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

export function formatAddressHeader(address: CorpusAddress): string {
  return address.name ? `${encodeHeaderWord(`"${address.name}"`)} <${address.address}>` : address.address;
}

export function rfc2822Date(epochMs: number): string {
  return new Date(epochMs).toUTCString().replace("GMT", "+0000");
}

export interface GeneratedContext {
  seed: string;
  now: number;
  owner: { name: string; address: string };
  people: { name: string; address: string }[];
  domains: { work: string[]; personal: string[] };
}

interface Draft {
  key: string;
  folder: string;
  subject: string;
  from: CorpusAddress;
  to: CorpusAddress[];
  cc?: CorpusAddress[];
  minutesAgo: number;
  html?: string;
  text?: string;
  attachments?: CorpusAttachment[];
  replyTo?: string; // key of the message replied to
  conversation: string;
  isRead: boolean;
  flagged?: boolean;
  importance?: "low" | "normal" | "high";
}

export function generatedMessages(context: GeneratedContext): CorpusMessage[] {
  const { seed, now, owner } = context;
  const work = context.domains.work[0] ?? context.domains.personal[0] ?? "example.invalid";
  const personal = context.domains.personal[0] ?? work;
  const colleague =
    context.people.find((person) => person.address.toLowerCase() !== owner.address.toLowerCase()) ??
    ({ name: "Jordan Lee", address: `jordan.lee@${work}` } as const);
  const elodie = { name: "Élodie Dupré", address: `elodie.dupre@${work}` };
  const taro = { name: "山田 太郎", address: `taro.yamada@${work}` };
  const layla = { name: "ليلى حداد", address: `layla.haddad@${personal}` };
  const newsletter = { name: "Mailroom Weekly", address: `newsletter@${work}` };
  const ownerAddress = { name: owner.name, address: owner.address };
  const inlineCid = `logo-${hashHex(seed, "cid").slice(0, 8)}@${work}`;

  const drafts: Draft[] = [
    {
      key: "reunion",
      folder: "inbox",
      subject: "Réunion d'équipe — café ☕",
      from: elodie,
      to: [ownerAddress],
      cc: [colleague],
      minutesAgo: 95,
      html: "<html><body><p>Bonjour à tous,</p><p>La réunion d'équipe aura lieu jeudi à 10 h, au café « Le Zèbre ». Apportez vos idées ☕ !</p><p>— Élodie</p></body></html>",
      text: "Bonjour à tous,\n\nLa réunion d'équipe aura lieu jeudi à 10 h, au café « Le Zèbre ». Apportez vos idées ☕ !\n\n— Élodie\n",
      conversation: "reunion",
      isRead: false,
      importance: "high",
    },
    {
      key: "reunion-reply",
      folder: "sentitems",
      subject: "RE: Réunion d'équipe — café ☕",
      from: ownerAddress,
      to: [elodie],
      cc: [colleague],
      minutesAgo: 80,
      text: "Merci Élodie, j'y serai. À jeudi !\n",
      replyTo: "reunion",
      conversation: "reunion",
      isRead: true,
    },
    {
      key: "reunion-reply-2",
      folder: "inbox",
      subject: "RE: Réunion d'équipe — café ☕",
      from: elodie,
      to: [ownerAddress],
      minutesAgo: 60,
      html: "<html><body><p>Parfait, à jeudi. Ça marche très bien !</p></body></html>",
      replyTo: "reunion-reply",
      conversation: "reunion",
      isRead: false,
    },
    {
      key: "japanese",
      folder: "inbox",
      subject: "会議の議事録（第3四半期）",
      from: taro,
      to: [ownerAddress],
      minutesAgo: 240,
      text: "お疲れ様です。\n\n第3四半期の会議の議事録を共有します。ご確認ください。\n\n山田\n",
      conversation: "japanese",
      isRead: true,
      flagged: true,
    },
    {
      key: "arabic",
      folder: "inbox",
      subject: "تقرير المبيعات الشهري",
      from: layla,
      to: [ownerAddress],
      minutesAgo: 420,
      html: '<html><body dir="rtl"><p>مرحباً،</p><p>مرفق تقرير المبيعات الشهري. شكراً لكم.</p><p>ليلى</p></body></html>',
      conversation: "arabic",
      isRead: false,
    },
    {
      key: "large-attachment",
      folder: "inbox",
      subject: "Q3 board pack (large PDF attached)",
      from: colleague,
      to: [ownerAddress],
      minutesAgo: 600,
      text: "Hi,\n\nThe Q3 board pack is attached (about 4 MB).\n\nThanks\n",
      html: "<html><body><p>Hi,</p><p>The Q3 board pack is attached (about 4 MB).</p><p>Thanks</p></body></html>",
      attachments: [
        {
          name: "board-pack-q3.pdf",
          contentType: "application/pdf",
          content: largePdf(seed),
          isInline: false,
        },
      ],
      conversation: "large-attachment",
      isRead: true,
    },
    {
      key: "inline-image",
      folder: "Newsletters",
      subject: "Mailroom Weekly: what shipped this week 🚀",
      from: newsletter,
      to: [ownerAddress],
      minutesAgo: 1440,
      html: `<html><body><p><img src="cid:${inlineCid}" alt="Mailroom logo" width="1" height="1"></p><h1>What shipped this week 🚀</h1><p>Faster sync, fewer surprises. See the attached summary.</p></body></html>`,
      text: "What shipped this week\n\nFaster sync, fewer surprises. See the attached summary.\n",
      attachments: [
        {
          name: "logo.png",
          contentType: "image/png",
          content: TINY_PNG,
          contentId: inlineCid,
          isInline: true,
        },
        {
          name: "summary.csv",
          contentType: "text/csv",
          content: Buffer.from("feature,status\nsync,shipped\nwebhooks,shipped\n", "utf8"),
          isInline: false,
        },
      ],
      conversation: "inline-image",
      isRead: false,
    },
    {
      key: "html-only",
      folder: "inbox",
      subject: "Your weekly digest",
      from: newsletter,
      to: [ownerAddress],
      minutesAgo: 2880,
      html: "<html><body><h2>Weekly digest</h2><ul><li>3 new comments</li><li>1 mention</li></ul></body></html>",
      conversation: "html-only",
      isRead: true,
      importance: "low",
    },
    {
      key: "text-only",
      folder: "inbox",
      subject: "Plain text only, please",
      from: colleague,
      to: [ownerAddress],
      minutesAgo: 3000,
      text: "No HTML here: just plain text.\nLine two.\n",
      conversation: "text-only",
      isRead: true,
    },
    {
      key: "german",
      folder: "Projects",
      subject: "Grüße aus München – Übersicht",
      from: { name: "Jürgen Groß", address: `juergen.gross@${personal}` },
      to: [ownerAddress],
      minutesAgo: 4300,
      text: "Hallo,\n\nanbei die Übersicht für nächste Woche. Schöne Grüße!\n",
      conversation: "german",
      isRead: true,
    },
  ];

  const idOf = (key: string): string =>
    `<${hashHex(seed, "generated", key).slice(0, 24).toUpperCase()}@${work}>`;
  const byKey = new Map(drafts.map((draft) => [draft.key, draft]));
  return drafts.map((draft): CorpusMessage => {
    const receivedAt = now - draft.minutesAgo * 60_000;
    const internetMessageId = idOf(draft.key);
    const references: string[] = [];
    for (let parent = draft.replyTo; parent; parent = byKey.get(parent)?.replyTo)
      references.unshift(idOf(parent));
    const attachments = draft.attachments ?? [];
    const headers = [
      {
        name: "Received",
        value: `from mail.${draft.from.address.split("@")[1]} by mx.${work}; ${rfc2822Date(receivedAt)}`,
      },
      { name: "Message-ID", value: internetMessageId },
      ...(draft.replyTo ? [{ name: "In-Reply-To", value: idOf(draft.replyTo) }] : []),
      ...(references.length ? [{ name: "References", value: references.join(" ") }] : []),
      { name: "Date", value: rfc2822Date(receivedAt - 30_000) },
      { name: "From", value: formatAddressHeader(draft.from) },
      { name: "To", value: draft.to.map(formatAddressHeader).join(", ") },
      ...(draft.cc?.length ? [{ name: "Cc", value: draft.cc.map(formatAddressHeader).join(", ") }] : []),
      { name: "Subject", value: encodeHeaderWord(draft.subject) },
      { name: "MIME-Version", value: "1.0" },
      {
        name: "Content-Type",
        value: attachments.length
          ? `multipart/mixed; boundary="${hashHex(seed, draft.key).slice(0, 16)}"`
          : `${draft.html ? "text/html" : "text/plain"}; charset="utf-8"`,
      },
    ];
    const message: CorpusMessage = {
      folder: draft.folder,
      subject: draft.subject,
      from: draft.from,
      to: draft.to,
      cc: draft.cc ?? [],
      receivedAt,
      internetMessageId,
      conversationKey: hashHex(seed, "conversation", draft.conversation).slice(0, 32),
      headers,
      attachments,
      isRead: draft.isRead,
      flagged: draft.flagged ?? false,
      importance: draft.importance ?? "normal",
    };
    if (draft.replyTo) {
      message.inReplyTo = idOf(draft.replyTo);
      message.references = references;
    }
    if (draft.html !== undefined) message.bodyHtml = draft.html;
    if (draft.text !== undefined) message.bodyText = draft.text;
    return message;
  });
}

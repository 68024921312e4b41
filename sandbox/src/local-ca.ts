// A local certificate authority for `mailroom sandbox --https`: generated once (node-forge, keys
// from node:crypto), kept in a directory, and a server certificate for localhost/127.0.0.1/::1
// (plus the bind host) signed by it. Trust it with NODE_EXTRA_CA_CERTS=<dir>/ca.pem.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import forge from "node-forge";

export interface LocalCertificates {
  caCertPath: string;
  key: string;
  cert: string;
  /** True when this call created the CA (first run). */
  createdCa: boolean;
}

const CA_FILE = "ca.pem";
const CA_KEY_FILE = "ca-key.pem";
const SERVER_FILE = "server.pem";
const SERVER_KEY_FILE = "server-key.pem";

function newKeyPair(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey } {
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const key = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  return { privateKey: key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e) };
}

function serialNumber(): string {
  // Positive (high bit clear) 16-byte serial, as RFC 5280 §4.1.2.2 requires.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

function writePrivate(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function createCa(dir: string): void {
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 86_400_000);
  const subject = [
    { name: "commonName", value: "Mailroom Sandbox Local CA" },
    { name: "organizationName", value: "Mailroom sandbox (local development only)" },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  writeFileSync(join(dir, CA_FILE), forge.pki.certificateToPem(cert));
  writePrivate(join(dir, CA_KEY_FILE), forge.pki.privateKeyToPem(keys.privateKey));
}

function serverHosts(extraHost: string | undefined): string[] {
  const hosts = ["localhost", "127.0.0.1", "::1"];
  if (extraHost && extraHost !== "0.0.0.0" && extraHost !== "::" && !hosts.includes(extraHost))
    hosts.push(extraHost);
  return hosts;
}

function certificateCovers(certPem: string, hosts: string[]): boolean {
  try {
    const cert = forge.pki.certificateFromPem(certPem);
    if (cert.validity.notAfter.getTime() < Date.now() + 86_400_000) return false;
    const san = cert.getExtension("subjectAltName") as {
      altNames?: { type: number; value?: string; ip?: string }[];
    };
    const names = new Set((san?.altNames ?? []).map((n) => n.ip ?? n.value ?? ""));
    return hosts.every(
      (host) => names.has(host) || (host === "::1" && [...names].some((n) => n.includes(":"))),
    );
  } catch {
    return false;
  }
}

function createServerCertificate(dir: string, hosts: string[]): void {
  const caCert = forge.pki.certificateFromPem(readFileSync(join(dir, CA_FILE), "utf8"));
  const caKey = forge.pki.privateKeyFromPem(readFileSync(join(dir, CA_KEY_FILE), "utf8"));
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  // 825 days: the longest validity macOS/iOS accept for TLS server certificates.
  cert.validity.notAfter = new Date(Date.now() + 825 * 86_400_000);
  cert.setSubject([{ name: "commonName", value: "localhost" }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: hosts.map((host) => (isIP(host) ? { type: 7, ip: host } : { type: 2, value: host })),
    },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  writeFileSync(join(dir, SERVER_FILE), forge.pki.certificateToPem(cert));
  writePrivate(join(dir, SERVER_KEY_FILE), forge.pki.privateKeyToPem(keys.privateKey));
}

/** Reuses the CA in `dir` (creating it on first use) and a server certificate covering the hosts. */
export function ensureLocalCertificates(dir: string, bindHost?: string): LocalCertificates {
  const directory = resolve(dir);
  mkdirSync(directory, { recursive: true });
  const createdCa = !existsSync(join(directory, CA_FILE)) || !existsSync(join(directory, CA_KEY_FILE));
  if (createdCa) createCa(directory);
  const hosts = serverHosts(bindHost);
  const serverPath = join(directory, SERVER_FILE);
  const current = existsSync(serverPath) ? readFileSync(serverPath, "utf8") : "";
  if (
    createdCa ||
    !current ||
    !existsSync(join(directory, SERVER_KEY_FILE)) ||
    !certificateCovers(current, hosts)
  ) {
    createServerCertificate(directory, hosts);
  }
  return {
    caCertPath: join(directory, CA_FILE),
    key: readFileSync(join(directory, SERVER_KEY_FILE), "utf8"),
    cert: readFileSync(serverPath, "utf8"),
    createdCa,
  };
}

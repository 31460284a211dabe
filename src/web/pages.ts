// The dashboard's HTML: one shell per page with the page's state embedded as
// JSON (the script renders it and keeps it live), and the static assets, all
// served by micro web itself — nothing is fetched from elsewhere.
import { createHash } from "node:crypto";
import { STYLE } from "./assets/style.js";
import { APP } from "./assets/app.js";

export type PageKind = "home" | "services" | "service" | "client";

export interface PageMeta {
  namespace: string;
  version: string;
}

const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" aria-hidden="true"><rect width="32" height="32" rx="8" fill="#3b5bdb"/><path d="M9 23V9.5l7 8 7-8V23" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></svg>`;

interface Asset {
  type: string;
  body: Buffer;
  etag: string;
}

function makeAsset(type: string, text: string): Asset {
  const body = Buffer.from(text);
  return { type, body, etag: `"${createHash("sha1").update(body).digest("base64url").slice(0, 16)}"` };
}

const ASSETS: Record<string, Asset> = {
  "app.js": makeAsset("text/javascript; charset=utf-8", APP),
  "style.css": makeAsset("text/css; charset=utf-8", STYLE),
  "favicon.svg": makeAsset("image/svg+xml", ICON),
};

export function asset(name: string): Asset | undefined {
  return Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
}

export function escapeHTML(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** JSON safe inside <script>: no "</script>", no HTML comment openers, no line separators JS chokes on. */
function scriptJSON(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

const TITLES: Record<PageKind | "notfound", string> = { home: "Micro Web", services: "Services", service: "Service", client: "Client", notfound: "Not found" };

function shell(kind: PageKind | "notfound", title: string, content: string, state: unknown, meta: PageMeta): string {
  const nav = ([["/", "Home", "home"], ["/services", "Services", "services"], ["/client", "Client", "client"]] as const)
    .map(([href, label, k]) => `<a href="${href}"${k === kind || (k === "services" && kind === "service") ? ' aria-current="page"' : ""}>${label}</a>`)
    .join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHTML(title === TITLES.home ? title : `${title} · Micro Web`)}</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<link rel="stylesheet" href="/_/style.css">
</head>
<body data-page="${kind}">
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/">${ICON}<span>Micro</span></a>
<nav class="main" aria-label="Main">${nav}</nav>
<span id="live" class="live" role="status" title="Connecting to the live feed">connecting…</span>
</header>
<main id="main" tabindex="-1">${content}</main>
<div id="toasts" aria-live="polite"></div>
<footer>micro-ts web${meta.version ? ` ${escapeHTML(meta.version)}` : ""} · web apps from <span class="mono">${escapeHTML(meta.namespace)}</span> · every page here answers JSON too (send <span class="mono">Accept: application/json</span>)</footer>
<script type="application/json" id="state">${scriptJSON(state)}</script>
<script src="/_/app.js" defer></script>
</body>
</html>
`;
}

/** A dashboard page; the script renders `state`. Without JavaScript, the page says where the JSON is. */
export function page(kind: PageKind, state: unknown, meta: PageMeta): string {
  const title = kind === "service" ? String((state as { name?: string }).name ?? "Service") : TITLES[kind];
  const content = `<noscript><p>This dashboard needs JavaScript. The same data is at <a href="/services">/services</a> and /service/&lt;name&gt; as JSON: send <code>Accept: application/json</code>.</p></noscript>`;
  return shell(kind, title, content, state, meta);
}

/** The friendly 404 for a browser: what was not found, and the web apps that are there. */
export function notFoundPage(message: string, webApps: { alias: string; link: string }[], meta: PageMeta): string {
  const apps = webApps.length === 0
    ? `<p class="hint">No web apps are registered in ${escapeHTML(meta.namespace)} right now.</p>`
    : `<p>Web apps here:</p><ul>${webApps.map((a) => `<li><a href="${escapeHTML(a.link)}">${escapeHTML(a.alias)}</a></li>`).join("")}</ul>`;
  const content = `<h1>Not found</h1><div class="panel pad"><p class="mono">${escapeHTML(message)}</p>${apps}<p><a href="/">Home</a> · <a href="/services">All services</a></p></div>`;
  return shell("notfound", TITLES.notfound, content, null, meta);
}

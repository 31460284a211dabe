// The upstream greeter's web app, in TypeScript: go.micro.web.greeter, a page
// with a form that calls go.micro.srv.greeter Say.Hello through micro web's
// /rpc and shows the reply.
//
//   npx tsx examples/greeter/srv/main.ts     # the greeter service
//   npx tsx examples/greeter/web/main.ts     # this web app
//   npx micro web                            # then open http://localhost:8082/greeter/
import { WebService } from "../../../src/index.js";

const service = new WebService({ name: "go.micro.web.greeter", version: "latest" });

service.handle("/", (req, res) => {
  const path = (req.url ?? "/").split("?")[0];
  if (path !== "/") {
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
    res.end("404 page not found\n");
    return;
  }
  // micro web strips /greeter before the request gets here and says so in this header.
  const base = String(req.headers["x-micro-web-base-path"] ?? "");
  const body = page(base);
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
});

function escapeHTML(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function page(base: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Greeter</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto; padding: 0 1rem; color: #1d2330; }
  h1 { font-size: 1.6rem; }
  form { display: flex; gap: .5rem; }
  input { flex: 1; font: inherit; padding: .5rem .7rem; border: 1px solid #ccd; border-radius: 8px; }
  button { font: inherit; font-weight: 600; padding: .5rem 1rem; border-radius: 8px; border: 0; background: #3b5bdb; color: #fff; cursor: pointer; }
  #reply { margin-top: 1.5rem; font-size: 1.3rem; min-height: 2rem; }
  #reply.error { color: #c92a2a; font-size: 1rem; }
  .hint { color: #5f6b7a; font-size: .85rem; }
</style>
</head>
<body>
<h1>Greeter</h1>
<p class="hint">A go.micro.web.greeter page${base ? ` served at <code>${escapeHTML(base)}/</code>` : ""}: it calls go.micro.srv.greeter Say.Hello through micro web's /rpc.</p>
<form id="form">
  <label for="name" hidden>Name</label>
  <input id="name" name="name" placeholder="Your name" autofocus autocomplete="off">
  <button type="submit">Say hello</button>
</form>
<div id="reply" role="status" aria-live="polite"></div>
<script>
  const form = document.getElementById("form");
  const reply = document.getElementById("reply");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    reply.className = "";
    reply.textContent = "…";
    try {
      // /rpc is micro web's own (at the root, not under this app's prefix).
      const rsp = await fetch("/rpc", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ service: "go.micro.srv.greeter", endpoint: "Say.Hello", request: { name: document.getElementById("name").value } }),
      });
      const body = await rsp.json().catch(() => ({}));
      if (!rsp.ok) throw new Error(body.detail || rsp.status + " " + rsp.statusText);
      reply.textContent = body.msg;
    } catch (err) {
      reply.className = "error";
      reply.textContent = "Error: " + err.message;
    }
  });
</script>
</body>
</html>
`;
}

await service.run();

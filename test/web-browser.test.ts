// The dashboard in a real browser: Debian's chromium driven by playwright-core,
// against real processes (greeter service, greeter web app, micro web) on a
// temporary local registry, all on loopback. Screenshots go to a temp folder.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { ROOT, startGateway, startService, stopAll, tempDir, type GatewayProc, type Proc } from "./helpers.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SRV = "examples/greeter/srv/main.ts";
const WEB_APP = "examples/greeter/web/main.ts";
const WAIT = 15_000;

/** Runs `micro web` on a free loopback port and waits until it listens. */
function startMicroWeb(registryDir: string): Promise<GatewayProc> {
  return startGateway("web", [`--registry_address=${registryDir}`], ["--address=127.0.0.1:0"]);
}

async function assertPNG(path: string): Promise<void> {
  const bytes = await readFile(path);
  assert.ok(bytes.length > 1000, `${path} has ${bytes.length} bytes`);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${path} is a PNG`);
}

describe("the micro web dashboard in chromium", () => {
  let dir: { path: string; remove(): Promise<void> };
  let shots: { path: string; remove(): Promise<void> };
  let procs: Proc[] = [];
  let web: GatewayProc;
  let browser: Browser;
  let page: Page;
  let base: string;
  const taken: string[] = [];
  const pageErrors: string[] = [];

  const shot = async (name: string) => {
    const path = join(shots.path, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    taken.push(path);
  };

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    dir = await tempDir("micro-web-browser-");
    // MICRO_WEB_SCREENSHOTS=<folder> keeps them there, to look at.
    const keep = process.env.MICRO_WEB_SCREENSHOTS;
    shots = keep ? { path: keep, remove: async () => {} } : await tempDir("micro-web-shots-");
    procs = await Promise.all([startService(SRV, dir.path), startService(WEB_APP, dir.path)]);
    web = await startMicroWeb(dir.path);
    base = `http://${web.address}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], timeout: 30_000 });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.setDefaultTimeout(WAIT);
    page.setDefaultNavigationTimeout(WAIT);
    page.on("pageerror", (e) => pageErrors.push(e.message));
    // Only loopback: anything else the page asks for is a bug.
    await page.route("**/*", (route) => {
      const url = new URL(route.request().url());
      return url.hostname === "127.0.0.1" ? route.continue() : route.abort();
    });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    if (web && web.child.exitCode === null) {
      web.child.kill("SIGKILL");
      await web.exited;
    }
    await stopAll(procs);
    await dir?.remove();
    await shots?.remove();
  });

  test("the home page lists the greeter service and the greeter web app", async () => {
    await page.goto(`${base}/`);
    await page.locator('tr[data-service="go.micro.srv.greeter"]').waitFor();
    assert.match(await page.locator('tr[data-service="go.micro.srv.greeter"]').innerText(), /1 node/);
    await page.locator('[data-app="greeter"] a[href="/greeter/"]').waitFor();
    assert.equal(await page.locator("#live").innerText(), "live");
    // keyboard: the filter has the focus; typing narrows the list
    await page.keyboard.type("srv");
    await page.locator('[data-app="greeter"]').waitFor({ state: "hidden" });
    assert.ok(await page.locator('tr[data-service="go.micro.srv.greeter"]').isVisible());
    await page.keyboard.press("Escape");
    await shot("home");
  });

  test("the service page shows Say.Hello with its request shape, and the call form answers Hello John", async () => {
    await page.locator('a[href="/service/go.micro.srv.greeter"]').first().click();
    await page.waitForURL(`${base}/service/go.micro.srv.greeter`);
    const endpoint = page.locator('[data-endpoint="Say.Hello"]');
    await endpoint.waitFor();
    assert.equal((await endpoint.locator(".request-shape").innerText()).trim(), "{\n\tname string\n}", "as micro get service prints it");
    assert.match(await endpoint.locator(".response-shape").innerText(), /msg string/);
    assert.match(await page.locator('tr[data-node]').first().innerText(), /registry=local/);
    const request = endpoint.locator("textarea.request");
    assert.deepEqual(JSON.parse(await request.inputValue()), { name: "" }, "prefilled from the request shape");
    await request.fill('{"name": "John"}');
    await endpoint.getByRole("button", { name: "Call Say.Hello" }).click();
    await endpoint.locator(".result.ok pre").filter({ hasText: "Hello John" }).waitFor();
    assert.deepEqual(JSON.parse(await endpoint.locator(".result.ok pre").innerText()), { msg: "Hello John" });
    await shot("service-call");
    // an error answer is shown as one: code, status, id, detail
    await request.fill('{"name": ""}');
    await request.press("Control+Enter");
    await endpoint.locator(".result.error").waitFor();
    assert.match(await endpoint.locator(".result.error .status").innerText(), /^400 Bad Request · go\.micro\.srv\.greeter/);
    assert.match(await endpoint.locator(".result.error pre").innerText(), /name is required/);
    await shot("service-call-error");
  });

  test("a second greeter node appears without a reload, and goes when it stops", async () => {
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    await page.locator("#node-count").filter({ hasText: "1 node" }).waitFor();
    const second = await startService(SRV, dir.path);
    procs.push(second);
    await page.locator(`tr[data-node="${second.id}"]`).waitFor();
    await page.locator("#node-count").filter({ hasText: "2 nodes" }).waitFor();
    await page.locator(".toast").filter({ hasText: "Node joined go.micro.srv.greeter" }).first().waitFor();
    await shot("second-node");
    second.child.kill("SIGTERM");
    assert.equal(await second.exited, 0);
    await page.locator(`tr[data-node="${second.id}"]`).waitFor({ state: "detached" });
    await page.locator("#node-count").filter({ hasText: "1 node" }).waitFor();
    await shot("node-gone");
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, "the page was not reloaded");
  });

  test("the Client page calls by keyboard", async () => {
    await page.goto(`${base}/client?service=go.micro.srv.greeter&endpoint=Say.Hello`);
    await page.locator("#endpoint").filter({ has: page.locator('option[value="Say.Hello"]') }).waitFor();
    assert.equal(await page.locator("#service").inputValue(), "go.micro.srv.greeter");
    assert.equal(await page.locator("#endpoint").inputValue(), "Say.Hello");
    await page.locator("#request").fill('{"name": "John"}');
    await page.locator("#request").press("Control+Enter");
    await page.locator(".result.ok pre").filter({ hasText: "Hello John" }).waitFor();
    await shot("client");
  });

  test("the greeter web app, through the proxy, greets John", async () => {
    await page.goto(`${base}/greeter/`);
    await page.locator("#name").fill("John");
    await page.getByRole("button", { name: "Say hello" }).click();
    await page.locator("#reply").filter({ hasText: "Hello John" }).waitFor();
    await shot("greeter-app");
  });

  test("screenshots are PNGs and the pages ran without script errors", async () => {
    assert.equal(taken.length, 7);
    for (const p of taken) await assertPNG(p);
    assert.deepEqual(pageErrors, []);
  });
});

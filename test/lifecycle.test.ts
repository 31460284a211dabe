// A service's life as a process: bad flags, a registry it cannot write,
// TTL expiry and re-registration, stop by SIGINT.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT, nodesOf, startService, stopAll, tempDir, waitFor } from "./helpers.js";

const GREETER = "examples/greeter/srv/main.ts";

function runToExit(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", GREETER, ...args], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

test("a bad flag: one line, exit 1", async () => {
  const r = await runToExit(["--register_ttl=soon"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'go.micro.srv.greeter: invalid value "soon" for --register_ttl: want a whole number\n');
});

test("a registry folder that cannot be written: a clear line, exit 1", async () => {
  const dir = await tempDir();
  try {
    await writeFile(join(dir.path, "file"), "x");
    const r = await runToExit([`--registry_address=${join(dir.path, "file", "sub")}`, "--server_address=127.0.0.1:0"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /level=error go\.micro\.srv\.greeter: registry folder .*file\/sub\/go\.micro\.srv\.greeter (cannot be created|is not writable): ENOTDIR\n/);
    assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
  } finally {
    await dir.remove();
  }
});

test("a node that stops re-registering expires after its TTL, and comes back when it resumes", async () => {
  const dir = await tempDir();
  const node = await startService(GREETER, dir.path, ["--register_ttl=2", "--register_interval=1"]);
  try {
    const listed = async () => (await nodesOf(dir.path, "go.micro.srv.greeter")).some((n) => n.id === node.id);
    await new Promise((r) => setTimeout(r, 3_000));
    assert.ok(await listed(), "re-registered before its TTL ran out");
    node.child.kill("SIGSTOP");
    await waitFor("the TTL to expire", async () => !(await listed()), 5_000);
    node.child.kill("SIGCONT");
    await waitFor("re-registration", listed, 5_000);
  } finally {
    node.child.kill("SIGCONT");
    await stopAll([node]);
    await dir.remove();
  }
});

test("SIGINT stops a node like SIGTERM: deregistered, exit 0", async () => {
  const dir = await tempDir();
  const node = await startService(GREETER, dir.path);
  try {
    node.child.kill("SIGINT");
    assert.equal(await node.exited, 0);
    assert.deepEqual(await nodesOf(dir.path, "go.micro.srv.greeter"), []);
  } finally {
    await stopAll([node]);
    await dir.remove();
  }
});

// Starts the real `minsheng serve --demo` on a free loopback port over a fresh database, and
// launches Debian's Chromium (Playwright gives every launch a fresh, temporary profile). Both stop when the tests end.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "../..");
export const artifacts = path.join(root, "target", "browser-artifacts");

export async function startServer({ days = 7 } = {}) {
  const bin = process.env.MINSHENG_BIN || path.join(root, "target", "debug", "minsheng");
  const dir = mkdtempSync(path.join(tmpdir(), "minsheng-browser-"));
  const child = spawn(
    bin,
    ["serve", "--demo", "--demo-days", String(days), "--db", path.join(dir, "demo.db"), "--listen", "127.0.0.1:0"],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, RUST_LOG: "warn" } },
  );
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the server did not start within 240 s:\n${out}`)), 240_000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/minsheng is serving (http:\/\/[0-9.:]+)\//);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`the server exited (${code}):\n${out}`)); });
  });
  child.stdout.resume();
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  mkdirSync(artifacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

// What the browser tests share: their settings from the environment, and
// Debian's Chromium launched headless with a fake camera playing the
// video the Rust test made.
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

// axe-core, loaded into every page before the page's own scripts; as an
// init script it is not subject to the pages' Content-Security-Policy.
const axeScript = fileURLToPath(new URL("./node_modules/axe-core/axe.min.js", import.meta.url));

export const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

export async function withCameraPage(run) {
  const browser = await chromium.launch({
    executablePath: env("CHROMIUM"),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      `--use-file-for-fake-video-capture=${env("VIDEO")}`,
    ],
  });
  try {
    // The browser asks for the pages in LOCALE (Accept-Language), if set.
    const context = await browser.newContext({ viewport: { width: 900, height: 1000 }, locale: process.env.LOCALE });
    await context.addInitScript({ path: axeScript });
    const page = await context.newPage();
    const shot = (name) => page.screenshot({ path: `${env("SCREENSHOTS")}/${name}.png`, fullPage: true });
    await run(page, shot);
  } finally {
    await browser.close();
  }
}

// Fails when axe-core finds a serious or critical accessibility violation
// on the page as it is now.
export async function checkAccessibility(page, label) {
  const results = await page.evaluate(() => axe.run(document, { resultTypes: ["violations"] }));
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (serious.length > 0) {
    const found = serious.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    throw new Error(`${label} (${page.url()}) has accessibility violations:\n${found.join("\n")}`);
  }
}

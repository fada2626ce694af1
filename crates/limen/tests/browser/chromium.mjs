// What the browser tests share: their settings from the environment, and
// Debian's Chromium launched headless with a fake camera playing the
// video the Rust test made.
import { chromium } from "playwright-core";

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
    const page = await context.newPage();
    const shot = (name) => page.screenshot({ path: `${env("SCREENSHOTS")}/${name}.png`, fullPage: true });
    await run(page, shot);
  } finally {
    await browser.close();
  }
}

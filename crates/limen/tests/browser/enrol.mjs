// Drives Debian's Chromium, with a fake camera fed from LFW photographs,
// through registration, consent and webcam enrolment, keeping a
// screenshot of each step. Called by the Rust test `browser.rs`, which
// sets up the server and reads the outcome.
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env("LIMEN_URL");
const registerUrl = env("REGISTER_URL");
const password = env("PASSWORD");
const shots = env("SCREENSHOTS");

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
  const context = await browser.newContext({ viewport: { width: 900, height: 1000 } });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });

  await page.goto(registerUrl);
  await shot("1-register");
  await page.fill("input[name=password]", password);
  await page.fill("input[name=password_again]", password);
  await Promise.all([page.waitForURL(`${base}/account/consent`), page.click("form[action='/register'] button")]);
  await shot("2-consent");

  if (await page.isChecked("input[name=agree]")) throw new Error("the consent box was ticked in advance");
  await page.check("input[name=agree]");
  await Promise.all([page.waitForURL(`${base}/account/enrol`), page.click("form[action='/account/consent'] button")]);
  await shot("3-enrol");

  await page.click("#start");
  await page.waitForFunction(() => document.getElementById("camera").videoWidth > 0);
  await shot("4-camera");
  await page.waitForSelector("#enrol[data-state=enrolled]", { timeout: 180000 });
  console.log(`guidance: ${await page.textContent("#guidance")}`);
  await shot("5-enrolled");

  await page.goto(`${base}/account`);
  await shot("6-account");
} finally {
  await browser.close();
}

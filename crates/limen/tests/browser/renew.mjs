// Drives Debian's Chromium, with a fake camera fed from LFW photographs,
// through a renewal: the link of the renewal e-mail, login, the account
// page asking for renewal, and webcam enrolment with the new model,
// keeping a screenshot of each step. Called by the Rust test
// `model_rollout.rs`, which sets up the server and reads the outcome.
import { env, withCameraPage } from "./chromium.mjs";

const base = env("LIMEN_URL");

await withCameraPage(async (page, shot) => {
  await page.goto(env("RENEWAL_LINK"));
  await page.fill("input[name=email]", env("EMAIL"));
  await page.fill("input[name=password]", env("PASSWORD"));
  await Promise.all([page.waitForURL(`${base}/account`), page.click("form[action='/login'] button")]);
  await shot("1-account");
  const account = await page.textContent("main");
  if (!account.includes("older model")) throw new Error(`the account page does not ask for renewal: ${account}`);

  await Promise.all([page.waitForURL(`${base}/account/enrol`), page.click("a[href='/account/enrol']")]);
  await page.click("#start");
  await page.waitForFunction(() => document.getElementById("camera").videoWidth > 0);
  await shot("2-camera");
  await page.waitForSelector("#enrol[data-state=enrolled]", { timeout: 180000 });
  await shot("3-renewed");
});

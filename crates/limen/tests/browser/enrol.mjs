// Drives Debian's Chromium, with a fake camera fed from LFW photographs,
// through registration, consent and webcam enrolment in the language
// LOCALE asks for, keeping a screenshot of each step. Called by the Rust
// test `browser.rs`, which sets up the server and reads the outcome.
import { checkAccessibility, env, withCameraPage } from "./chromium.mjs";

const base = env("LIMEN_URL");
const registerUrl = env("REGISTER_URL");
const password = env("PASSWORD");
// The page's language, and words the finished enrolment says in it.
const language = env("LANGUAGE");
const enrolledText = env("ENROLLED_TEXT");

async function inLanguage(page) {
  const lang = await page.getAttribute("html", "lang");
  if (lang !== language) throw new Error(`${page.url()} is in ${lang}, not ${language}`);
}

await withCameraPage(async (page, shot) => {
  await page.goto(registerUrl);
  await inLanguage(page);
  await checkAccessibility(page, "registration");
  await shot("1-register");
  await page.fill("input[name=password]", password);
  await page.fill("input[name=password_again]", password);
  await Promise.all([page.waitForURL(`${base}/account/consent`), page.click("form[action='/register'] button")]);
  await inLanguage(page);
  await checkAccessibility(page, "consent");
  await shot("2-consent");

  if (await page.isChecked("input[name=agree]")) throw new Error("the consent box was ticked in advance");
  await page.check("input[name=agree]");
  await Promise.all([page.waitForURL(`${base}/account/enrol`), page.click("form[action='/account/consent'] button")]);
  await inLanguage(page);
  await checkAccessibility(page, "enrolment");
  await shot("3-enrol");

  // The stop button ends a sitting and lets a new one start.
  await page.click("#start");
  await page.waitForFunction(() => document.getElementById("camera").videoWidth > 0);
  await page.click("#stop");
  await page.waitForFunction(() => !document.getElementById("start").disabled && document.getElementById("stop").hidden);
  await page.click("#start");
  await page.waitForFunction(() => document.getElementById("camera").videoWidth > 0);
  await shot("4-camera");
  await page.waitForSelector("#enrol[data-state=enrolled]", { timeout: 180000 });
  const guidance = await page.textContent("#guidance");
  console.log(`guidance: ${guidance}`);
  if (!guidance.includes(enrolledText)) throw new Error(`the guidance says "${guidance}", not "${enrolledText}"`);
  await shot("5-enrolled");

  await page.goto(`${base}/account`);
  await inLanguage(page);
  await checkAccessibility(page, "account");
  await shot("6-account");

  // A lost connection is said and retried; an ended session is said and
  // stops the camera.
  await page.goto(`${base}/account/enrol`);
  const say = (key) => page.getAttribute("#enrol", `data-say-${key}`);
  const saying = (text) => page.waitForFunction((t) => document.getElementById("guidance").textContent === t, text);
  await page.route("**/account/face/check", (route) => route.abort());
  await page.click("#start");
  await saying(await say("network"));
  await page.unroute("**/account/face/check");
  await page.context().clearCookies();
  await saying(await say("expired"));
  if (!(await page.isHidden("#stop"))) throw new Error("the camera runs on after the session ended");
  await shot("7-expired");

  // Signed out, the person asks for a new password; the Rust test reads
  // the e-mail and hands its link to reset-withdraw.mjs.
  await page.goto(`${base}/login`);
  await inLanguage(page);
  await checkAccessibility(page, "login");
  await Promise.all([page.waitForURL(`${base}/password/forgot`), page.click("a[href='/password/forgot']")]);
  await checkAccessibility(page, "forgotten password");
  await page.fill("input[name=email]", env("EMAIL"));
  await page.click("form[action='/password/forgot'] button");
  await page.waitForURL(`${base}/password/forgot`);
  await inLanguage(page);
  await shot("8-forgot");
});

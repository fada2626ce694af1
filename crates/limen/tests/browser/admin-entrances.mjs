// An admin signs in, creates an entrance and a camera and sees its token
// once, then reads the decisions and the audit trail, in the language
// LOCALE asks for, with an accessibility check of each page. Called by the
// Rust test `admin_entrances.rs`, which reads the outcome from the server.
import { signInAsAdmin } from "./admin.mjs";
import { checkAccessibility, env, withCameraPage } from "./chromium.mjs";

const base = env("LIMEN_URL");
const language = env("LANGUAGE");
const entrance = env("ENTRANCE");

async function inLanguage(page, label) {
  if ((await page.getAttribute("html", "lang")) !== language) throw new Error(`${label} not in ${language}`);
  await checkAccessibility(page, label);
}

await withCameraPage(async (page, shot) => {
  await signInAsAdmin(page, base, env("ADMIN_EMAIL"), env("PASSWORD"));
  await page.click("nav a[href='/admin/entrances']");
  await page.waitForURL(`${base}/admin/entrances`);
  await inLanguage(page, "entrances");

  await page.fill("form[action='/admin/entrances'] input[name=name]", entrance);
  await Promise.all([
    page.waitForURL(`${base}/admin/entrances`),
    page.click("form[action='/admin/entrances'] button[type=submit]"),
  ]);
  const section = page.locator("section", { has: page.locator("h2", { hasText: entrance }) });
  await Promise.all([page.waitForLoadState("load"), section.locator("form[action$='/devices'] button").click()]);
  const token = (await page.textContent("code.token"))?.trim() ?? "";
  if (token.length < 32) throw new Error(`no token shown: ${token}`);
  await inLanguage(page, "entrances with a new camera's token");
  await shot("admin-entrances-token");

  await page.goto(`${base}/admin/entrances`);
  if ((await page.content()).includes(token)) throw new Error("the token is shown again");
  if (!(await section.locator("table").textContent()).length) throw new Error("the camera is not listed");
  await inLanguage(page, "entrances with a camera");
  await shot("admin-entrances");

  await page.click("nav a[href='/admin/events']");
  await page.waitForURL(`${base}/admin/events`);
  await inLanguage(page, "events");
  await shot("admin-events");

  await page.click("nav a[href='/admin/audit']");
  await page.waitForURL(`${base}/admin/audit`);
  await inLanguage(page, "audit");
  // The trail names the action in the page's language, never by its code.
  const cameraAdded = { en: "Camera added", nl: "Camera toegevoegd" }[language];
  const trail = await page.textContent("main");
  if (!trail.includes(cameraAdded) || trail.includes("device.registered")) {
    throw new Error("the camera is not in the trail in the page's language");
  }
  await shot("admin-audit");
});

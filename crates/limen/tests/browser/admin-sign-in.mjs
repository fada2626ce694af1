// An admin signs in and invites another admin, in the language LOCALE
// asks for, with an accessibility check of each page on the way. Called by
// the Rust test `browser.rs`, which reads the outcome from the server.
import { signInAsAdmin } from "./admin.mjs";
import { checkAccessibility, env, withCameraPage } from "./chromium.mjs";

const base = env("LIMEN_URL");
const language = env("LANGUAGE");

await withCameraPage(async (page, shot) => {
  await page.goto(`${base}/admin/login`);
  if ((await page.getAttribute("html", "lang")) !== language) throw new Error("login page not in " + language);
  await checkAccessibility(page, "admin login");
  await shot("admin-login");
  await signInAsAdmin(page, base, env("ADMIN_EMAIL"), env("PASSWORD"));
  if ((await page.getAttribute("html", "lang")) !== language) throw new Error("organisation page not in " + language);
  await checkAccessibility(page, "admin organisation");
  await page.fill("input[name=name]", "Piet Beheer");
  await page.fill("input[name=email]", "piet@acme.test");
  await Promise.all([page.waitForURL(`${base}/admin`), page.click("form[action='/admin/admins'] button")]);
  if (!(await page.textContent("main")).includes("piet@acme.test")) throw new Error("the invited admin is not listed");
  await shot("admin-organisation");
  await Promise.all([page.waitForURL(`${base}/admin/login`), page.click("form[action='/admin/logout'] button")]);
});

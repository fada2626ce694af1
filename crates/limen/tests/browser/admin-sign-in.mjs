// An admin finds the way to a forgotten password, signs in and invites
// another admin, in the language LOCALE
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
  // A forgotten password: the link, the form, and the answer (an address
  // that is nobody's, so that no mail goes out).
  await Promise.all([page.waitForURL(`${base}/admin/password/forgot`), page.click("a[href='/admin/password/forgot']")]);
  if ((await page.getAttribute("html", "lang")) !== language) throw new Error("forgot page not in " + language);
  await checkAccessibility(page, "admin forgot password");
  await page.fill("input[name=email]", "nobody@acme.test");
  await page.click("form[action='/admin/password/forgot'] button");
  await page.waitForSelector("p.notice");
  await checkAccessibility(page, "admin forgot password, asked");
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

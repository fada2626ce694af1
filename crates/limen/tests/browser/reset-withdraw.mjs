// Follows the e-mailed link to choose a new password (RESET_URL), lands
// signed in, and withdraws consent through its confirmation step, in the
// language LOCALE asks for, checking each page's accessibility. Called by
// the Rust test `browser.rs` after enrol.mjs asked for the link.
import { checkAccessibility, env, withCameraPage } from "./chromium.mjs";

const base = env("LIMEN_URL");
const language = env("LANGUAGE");

async function inLanguage(page) {
  const lang = await page.getAttribute("html", "lang");
  if (lang !== language) throw new Error(`${page.url()} is in ${lang}, not ${language}`);
}

await withCameraPage(async (page, shot) => {
  await page.goto(env("RESET_URL"));
  await inLanguage(page);
  await checkAccessibility(page, "new password");
  await shot("9-reset");
  await page.fill("input[name=new_password]", env("NEW_PASSWORD"));
  await page.fill("input[name=new_password_again]", env("NEW_PASSWORD"));
  await Promise.all([page.waitForURL(`${base}/account`), page.click("form[action='/password/reset'] button")]);

  await Promise.all([
    page.waitForURL(`${base}/account/consent/withdraw`),
    page.click("a[href='/account/consent/withdraw']"),
  ]);
  await inLanguage(page);
  await checkAccessibility(page, "withdrawal confirmation");
  await shot("10-withdraw");
  await Promise.all([
    page.waitForURL((url) => !url.pathname.endsWith("/withdraw")),
    page.click("form[action='/account/consent/withdraw'] button"),
  ]);
  await inLanguage(page);
  await checkAccessibility(page, "after withdrawal");
  await shot("11-withdrawn");
});

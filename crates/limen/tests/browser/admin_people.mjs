// Drives Chromium through the admin's people pages in the language LOCALE
// asks for: sign in, import a spreadsheet's CSV with one bad row (the
// row's problem is shown and nothing is saved, as the API confirms), the
// corrected file imported, everyone invited, one person's erasure asked
// and declined. axe-core checks each page. Called by the Rust test
// `admin_people.rs`, which makes the files and reads the outcome (the
// invitations in its SMTP server).
import { signInAsAdmin } from "./admin.mjs";
import { checkAccessibility, env, withCameraPage } from "./chromium.mjs";

const base = env("LIMEN_URL");
const language = env("LANGUAGE");
const apiKey = env("API_KEY");
const badRow = env("BAD_ROW");
// What the bad row's problem says in LANGUAGE.
const problemText = env("PROBLEM_TEXT");
const people = Number(env("PEOPLE"));

async function inLanguage(page) {
  const lang = await page.getAttribute("html", "lang");
  if (lang !== language) throw new Error(`${page.url()} is in ${lang}, not ${language}`);
}

async function peopleInApi() {
  const reply = await fetch(`${base}/api/v1/people`, { headers: { authorization: `Bearer ${apiKey}` } });
  if (!reply.ok) throw new Error(`GET /api/v1/people: ${reply.status}`);
  return (await reply.json()).length;
}

async function upload(page, path) {
  await page.goto(`${base}/admin/people`);
  await page.setInputFiles("#import-file", path);
  await Promise.all([page.waitForURL(`${base}/admin/people/import`), page.click("form[action='/admin/people/import'] button")]);
  await inLanguage(page);
}

await withCameraPage(async (page, shot) => {
  await signInAsAdmin(page, base, env("ADMIN_EMAIL"), env("PASSWORD"));
  await page.goto(`${base}/admin/people`);
  await inLanguage(page);
  await checkAccessibility(page, "people (empty)");

  // The bad row is shown with its problem; nothing can be imported.
  await upload(page, env("BAD_CSV"));
  const problemRows = await page.$$eval("tr.problem th", (cells) => cells.map((c) => c.textContent.trim()));
  if (problemRows.join() !== badRow) throw new Error(`rows shown with a problem: ${problemRows}, expected ${badRow}`);
  const problem = await page.textContent("tr.problem li");
  if (!problem.includes(problemText)) throw new Error(`the problem shown is "${problem}", not "${problemText}"`);
  if (await page.$("form[action='/admin/people/import/confirm']")) throw new Error("a file with a bad row can be imported");
  await checkAccessibility(page, "import preview with a problem");
  await shot("import-problem");
  if ((await peopleInApi()) !== 0) throw new Error("a refused import saved people");

  // The corrected file: every row fine, then imported.
  await upload(page, env("GOOD_CSV"));
  if (await page.$("tr.problem")) throw new Error("the corrected file still shows a problem");
  await checkAccessibility(page, "import preview, all fine");
  await shot("import-fine");
  await Promise.all([
    page.waitForURL(/\/admin\/people\?imported=/),
    page.click("form[action='/admin/people/import/confirm'] button"),
  ]);
  if ((await peopleInApi()) !== people) throw new Error("the import did not save every person");
  await page.waitForSelector("p[role=status]");

  // Everyone not yet invited.
  await Promise.all([page.waitForURL(/\/admin\/people\?queued=/), page.click("button[name=which][value=all]")]);
  await inLanguage(page);
  await checkAccessibility(page, "people, invited");
  await shot("people");

  // Erasing asks first; going back keeps the person.
  await page.click("td a[href$='/erase']");
  await page.waitForURL(/\/admin\/people\/[0-9a-f]{32}\/erase$/);
  await inLanguage(page);
  await checkAccessibility(page, "erase confirmation");
  await shot("erase");
  await Promise.all([page.waitForURL(`${base}/admin/people`), page.click("main a[href='/admin/people']")]);
  if ((await peopleInApi()) !== people) throw new Error("declining the erasure erased someone");
});

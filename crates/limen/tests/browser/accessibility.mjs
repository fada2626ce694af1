// Visits every page PAGES lists (JSON: [{ path, cookie: { name, value } | null }])
// in the language LOCALE asks for, and runs axe-core on each; fails with
// every serious or critical violation found, page by page. Called by the
// Rust test `accessibility.rs`, which sets up the sessions and links.
import { checkAccessibility, env, withCameraPage } from "./chromium.mjs";

const base = env("LIMEN_URL");
const language = env("LANGUAGE");
const pages = JSON.parse(env("PAGES"));

await withCameraPage(async (page) => {
  const failures = [];
  for (const { path, cookie } of pages) {
    await page.context().clearCookies();
    if (cookie) await page.context().addCookies([{ ...cookie, url: base }]);
    const response = await page.goto(`${base}${path}`);
    const landed = new URL(page.url()).pathname;
    if (!response.ok() || landed !== path.split("?")[0]) {
      failures.push(`${path}: answered ${response.status()} at ${landed}`);
      continue;
    }
    const lang = await page.getAttribute("html", "lang");
    if (lang !== language) failures.push(`${path}: in ${lang}, not ${language}`);
    try {
      await checkAccessibility(page, path);
    } catch (e) {
      failures.push(e.message);
    }
  }
  if (failures.length > 0) throw new Error(failures.join("\n"));
  console.log(`${pages.length} pages checked in ${language}`);
});

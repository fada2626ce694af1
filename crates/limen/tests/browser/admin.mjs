// What the admin's browser tests share: signing in on the login page.
export async function signInAsAdmin(page, base, email, password) {
  await page.goto(`${base}/admin/login`);
  await page.fill("input[name=email]", email);
  await page.fill("input[name=password]", password);
  await Promise.all([page.waitForURL(`${base}/admin`), page.click("button[type=submit]")]);
}

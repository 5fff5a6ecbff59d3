// docs-ui.mjs — drives Debian's Chromium (headless, through playwright-core) at a running
// taskd's GET /docs, as a person would: make test-docs-ui runs it (shared/scripts/test-docs-ui.sh).
//
// usage: node docs-ui.mjs BASE_URL SCREENSHOT.png
// Checks that Swagger UI renders one block per operation of the server's own /openapi.json, that
// every request the page makes stays on the server (no CDN), and that "Try it out" then
// "Execute" on GET /health shows a 200; saves a picture of that operation. Exits 1 with the
// reason on the first failure.
import { chromium } from 'playwright-core';

const [base, shot] = process.argv.slice(2);
if (!base || !shot) {
  console.error('usage: node docs-ui.mjs BASE_URL SCREENSHOT.png');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const timeout = Number(process.env.DOCS_UI_TIMEOUT_MS || 60000);

function fail(message) {
  console.error(`docs-ui: ${message}`);
  process.exitCode = 1;
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  // --no-sandbox: CI and this course's machines run as root, where Chromium's sandbox refuses.
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.setDefaultTimeout(timeout);
  const origin = new URL(base).origin;
  const elsewhere = [];
  page.on('request', (req) => {
    const u = req.url();
    if (!u.startsWith(origin) && !u.startsWith('data:')) elsewhere.push(u);
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  const doc = await (await page.request.get(`${base}/openapi.json`)).json();
  const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  const ops = Object.values(doc.paths).flatMap((item) => methods.filter((m) => item[m]));

  await page.goto(`${base}/docs`);
  await page.locator('.opblock').first().waitFor();
  const rendered = await page.locator('.opblock').count();
  if (rendered !== ops.length)
    fail(`expected ${ops.length} operations (one per operation of /openapi.json), saw ${rendered}`);

  const health = page.locator('#operations-service-getHealth');
  await health.locator('.opblock-summary').click();
  await health.getByRole('button', { name: 'Try it out' }).click();
  await health.getByRole('button', { name: 'Execute' }).click();
  const status = health.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor();
  const code = (await status.innerText()).trim();
  if (code !== '200') fail(`GET /health through "Try it out": expected 200, got ${code}`);
  await health.scrollIntoViewIfNeeded();
  await health.screenshot({ path: shot });

  if (elsewhere.length) fail(`the page fetched from other hosts (a CDN?): ${elsewhere.join(', ')}`);
  if (errors.length) fail(`script errors on the page: ${errors.join('; ')}`);
  if (!process.exitCode)
    console.log(`docs-ui: ${rendered} operations rendered; Try it out on GET /health: ${code}; picture in ${shot}`);
} catch (e) {
  fail(String(e && e.message ? e.message : e));
} finally {
  await browser.close();
}

// page-shot.mjs — opens a page in Debian's Chromium (headless, through playwright-core), waits
// until the page says it is drawn (<body data-ready>), and saves a picture of it. For pages the
// course draws itself from live data (week 9's dashboard: make test-dashboard-ui).
//
// usage: node page-shot.mjs URL SCREENSHOT.png
// Exits 1 when the page does not get ready within PAGE_SHOT_TIMEOUT_MS (60 s), reports
// data-failed > 0 (parts it could not draw), throws an error of its own, or asks any origin
// but its own and ALLOW_ORIGIN (the data source it reads).
import { chromium } from 'playwright-core';

const [url, shot] = process.argv.slice(2);
if (!url || !shot) {
  console.error('usage: node page-shot.mjs URL SCREENSHOT.png');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const timeout = Number(process.env.PAGE_SHOT_TIMEOUT_MS || 60000);
const allowed = [new URL(url).origin, process.env.ALLOW_ORIGIN].filter(Boolean);

const browser = await chromium.launch({
  executablePath,
  headless: true,
  // --no-sandbox: CI and this course's machines run as root, where Chromium's sandbox refuses.
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(timeout);
  const elsewhere = [];
  page.on('request', (req) => {
    const u = req.url();
    if (!allowed.some((o) => u.startsWith(o)) && !u.startsWith('data:')) elsewhere.push(u);
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.locator('body[data-ready]').waitFor({ state: 'attached' });
  const ready = await page.locator('body').getAttribute('data-ready');
  const failed = Number(await page.locator('body').getAttribute('data-failed') || 0);
  await page.screenshot({ path: shot, fullPage: true });
  if (errors.length) throw new Error(`the page threw: ${errors.join('; ')}`);
  if (failed) throw new Error(`${failed} of ${ready} parts could not be drawn (see ${shot})`);
  if (elsewhere.length) throw new Error(`the page asked other origins: ${elsewhere.join(', ')}`);
  console.log(`page-shot: ${ready} parts drawn; picture in ${shot}`);
} catch (e) {
  console.error(`page-shot: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}

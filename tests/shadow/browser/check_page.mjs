// Opens a kamado shadow page (self-contained HTML) in Debian's headless
// Chromium through playwright-core and checks what a product owner would see:
// the verdict, every thumbnail decoded (the browser drew it, at most 128 px),
// the latency plot, no failed request and no console error (the page must
// fetch nothing). Writes a screenshot beside the page.
//
//   node check_page.mjs PAGE.html EXPECTED_THUMBNAILS
import { chromium } from 'playwright-core';
import path from 'node:path';

const [page_path, expected] = process.argv.slice(2);
const fail = (m) => { console.error('check_page: ' + m); process.exit(1); };
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('requestfailed', (r) => problems.push('request failed: ' + r.url()));
  page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) problems.push('fetched ' + r.url()); });
  await page.goto('file://' + path.resolve(page_path));
  const verdict = await page.textContent('p.big');
  if (!/give the same top-1 label on \d+ of \d+ photos/.test(verdict)) fail('no verdict: ' + verdict);
  const thumbs = await page.$$eval('.thumb img', (imgs) =>
    imgs.map((i) => ({ ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth, h: i.naturalHeight })));
  if (thumbs.length !== Number(expected)) fail(`${thumbs.length} thumbnails, expected ${expected}`);
  for (const t of thumbs) {
    if (!t.ok || Math.max(t.w, t.h) > 128) fail('a thumbnail did not decode or is too large: ' + JSON.stringify(t));
  }
  if ((await page.$$('svg')).length < 1) fail('no latency plot');
  if (problems.length) fail(problems.join('; '));
  const shot = page_path.replace(/\.html$/, '.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`check_page: ${page_path}: verdict, ${thumbs.length} thumbnails drawn, plot, nothing fetched; ${shot}`);
} finally {
  await browser.close();
}

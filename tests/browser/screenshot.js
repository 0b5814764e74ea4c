#!/usr/bin/env node
// tests/browser/screenshot.js: open one local HTML file in Debian's headless
// Chromium (playwright-core, never a downloaded browser), take a full-page
// PNG screenshot and print one JSON object describing what rendered:
//
//   {"title": S, "svgs": [{"id", "width", "height", "visible"}...],
//    "bars": N visible <rect class="bar"> with a non-zero box,
//    "tables": N, "scripts": N, "external_requests": [URL...],
//    "screenshot": PATH, "bytes": N}
//
// Usage: node screenshot.js --html FILE --out FILE.png --profile DIR
//                           [--chromium /usr/bin/chromium] [--width 1280]
// --profile must be a fresh, empty directory (Chromium's user data dir).
// Every request that is not for the file itself is aborted and listed in
// external_requests, so a self-contained page lists none. Exit 0 when the
// page loaded and the screenshot was written, 1 otherwise (message on stderr).
'use strict';

const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

function parseArgs(argv) {
  const out = { chromium: '/usr/bin/chromium', width: 1280 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (!['--html', '--out', '--profile', '--chromium', '--width'].includes(a) || v === undefined) {
      throw new Error(`bad argument: ${a}`);
    }
    out[a.slice(2)] = a === '--width' ? Number(v) : v;
    i++;
  }
  for (const k of ['html', 'out', 'profile']) {
    if (!out[k]) throw new Error(`--${k} is required`);
  }
  return out;
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch (e) {
    console.error('screenshot.js: playwright-core is not installed (npm ci in tests/browser)');
    process.exit(77);
  }
  const fileUrl = pathToFileURL(path.resolve(opt.html)).href;
  const context = await chromium.launchPersistentContext(opt.profile, {
    executablePath: opt.chromium,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: opt.width, height: 900 },
    offline: true,
  });
  const external = [];
  try {
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url === fileUrl) return route.continue();
      external.push(url);
      return route.abort();
    });
    const page = context.pages()[0] || (await context.newPage());
    const resp = await page.goto(fileUrl, { waitUntil: 'load', timeout: 30000 });
    if (resp && !resp.ok()) throw new Error(`loading the page failed: ${resp.status()}`);
    const info = await page.evaluate(() => {
      const box = (el) => el.getBoundingClientRect();
      const shown = (el) => {
        const r = box(el);
        const s = getComputedStyle(el);
        return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
      };
      return {
        title: document.title,
        svgs: Array.from(document.querySelectorAll('svg')).map((el) => ({
          id: el.id,
          width: box(el).width,
          height: box(el).height,
          visible: shown(el),
        })),
        bars: Array.from(document.querySelectorAll('rect.bar')).filter(shown).length,
        tables: document.querySelectorAll('table').length,
        scripts: document.querySelectorAll('script').length,
      };
    });
    await page.screenshot({ path: opt.out, fullPage: true });
    info.external_requests = external;
    info.screenshot = opt.out;
    info.bytes = fs.statSync(opt.out).size;
    process.stdout.write(JSON.stringify(info) + '\n');
  } finally {
    await context.close();
  }
}

main().catch((e) => {
  console.error(`screenshot.js: ${e && e.message ? e.message : e}`);
  process.exit(1);
});

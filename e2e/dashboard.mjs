// The dashboard's browser scenario: playwright-core drives Debian's Chromium headless through
// the pages of a running `ghl-bridge serve`, using only the routes and element ids of the
// dashboard contract (docs/dashboard.md). Started by crates/cli/tests/dashboard_browser.rs,
// which owns the emulators, the project and the server, and restarts the server between
// PHASE=1 (sign in, connect GHL by OAuth, create and edit a flow) and PHASE=2 (dry run,
// switch on, live sync, dead letters, read-only pages) because flows load at start-up.
//
// Every step asserts what the user would see. A failed step is reported with its reason and a
// screenshot (`failed-<step>.png`); later steps that need it are skipped, independent ones
// still run, and the process exits 1. Console errors and uncaught page errors on the
// dashboard's own pages fail the run.
//
// Environment: BASE_URL, ADMIN_TOKEN, GHL_SANDBOX_URL, GHL_LOCATION_ID, GHL_CONTACTS (JSON
// [{id, email}]), REST_URL (emulator root), REST_API_URL (its /v1), REST_KEY, SCREENSHOT_DIR,
// PHASE (1, 2 or all), CHROMIUM (default /usr/bin/chromium), FLOW_NAME, FLOW_TEMPLATE.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) {
    console.error(`missing environment variable ${name} (see the head of e2e/dashboard.mjs)`);
    process.exit(2);
  }
  return v;
};

const BASE = env("BASE_URL").replace(/\/$/, "");
const TOKEN = env("ADMIN_TOKEN");
const GHL = env("GHL_SANDBOX_URL").replace(/\/$/, "");
const LOCATION = env("GHL_LOCATION_ID", "");
const CONTACTS = JSON.parse(env("GHL_CONTACTS", "[]"));
const REST = env("REST_URL").replace(/\/$/, "");
const REST_API = env("REST_API_URL", `${REST}/v1`).replace(/\/$/, "");
const REST_KEY = env("REST_KEY");
const SHOTS = env("SCREENSHOT_DIR", "target/screenshots");
const PHASE = env("PHASE", "all");
const FLOW = env("FLOW_NAME", "browser-contacts");
const TEMPLATE = env("FLOW_TEMPLATE", "your-app-contacts-realtime");
const WAIT_LIVE_MS = 20_000;
const WAIT_DEAD_MS = 60_000;

mkdirSync(SHOTS, { recursive: true });
// The whole run never hangs CI: the Rust side also kills it, this says why first.
setTimeout(() => {
  console.error("the scenario took longer than 280 s; stopping");
  process.exit(3);
}, 280_000).unref();

// ---------------------------------------------------------------------------------------------
// Steps: name, what it needs, the result.

const results = [];
const passed = new Set();
const consoleErrors = [];
// Set while the scenario provokes an error answer on purpose (a wrong sign-in token).
let expectingErrors = false;

function log(msg) {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

async function step(name, needs, fn) {
  const missing = needs.filter((n) => !passed.has(n));
  if (missing.length) {
    results.push({ name, status: "skipped", why: `needs ${missing.join(", ")}` });
    log(`SKIP ${name} (needs ${missing.join(", ")})`);
    return;
  }
  const t0 = Date.now();
  try {
    await fn();
    passed.add(name);
    results.push({ name, status: "passed", ms: Date.now() - t0 });
    log(`PASS ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    // Playwright appends a "Call log" (with colour codes): the first part says enough.
    const why = (e && e.message ? e.message : String(e)).split(/\n\s*Call log:/)[0].trim()
      .split("\n").slice(0, 12).join("\n      ");
    results.push({ name, status: "FAILED", why });
    log(`FAIL ${name}: ${why}`);
    try {
      await page.screenshot({ path: join(SHOTS, `failed-${name}.png`), fullPage: true });
    } catch {}
  }
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// ---------------------------------------------------------------------------------------------
// The browser.

const browser = await chromium.launch({
  executablePath: env("CHROMIUM", "/usr/bin/chromium"),
  headless: true,
  // Containers run as root, where Chromium's sandbox cannot start.
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
context.setDefaultTimeout(10_000);
const page = await context.newPage();

const ours = (url) => url.startsWith(BASE);
page.on("console", (msg) => {
  if (msg.type() === "error" && ours(page.url()) && !expectingErrors) {
    const at = msg.location() && msg.location().url ? ` [${msg.location().url}]` : "";
    consoleErrors.push(`${page.url()}: console: ${msg.text()}${at}`);
  }
});
page.on("pageerror", (err) => {
  if (ours(page.url())) consoleErrors.push(`${page.url()}: uncaught: ${err.message}`);
});
page.on("response", (r) => {
  if (ours(r.url()) && r.status() >= 500) {
    consoleErrors.push(`${page.url()}: ${r.request().method()} ${r.url()} answered ${r.status()}`);
  }
});

async function shot(name, opts = {}) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, ...opts });
}

/// Goes to a dashboard page and checks it rendered: status, exactly one <h1>, the nav entry.
async function open(path) {
  const r = await page.goto(`${BASE}${path}`);
  check(r, `no answer for ${path}`);
  check(r.status() < 400, `${path} answered ${r.status()}: ${(await r.text()).slice(0, 300)}`);
  check(new URL(page.url()).pathname !== "/ui/login" || path === "/ui/login",
    `${path} sent the browser to the login page (session lost?)`);
  const h1 = await page.locator("h1").count();
  check(h1 === 1, `${path} has ${h1} <h1> elements (the contract says exactly one)`);
}

/// Waits for a selector, naming the page and the contract id when it never appears.
async function need(selector, what, timeout) {
  try {
    await page.locator(selector).first().waitFor({ state: "visible", timeout });
  } catch {
    throw new Error(`${what}: no visible ${selector} on ${page.url()}`);
  }
  return page.locator(selector);
}

/// Polls `fn` until it returns a truthy value or `ms` pass.
async function until(ms, what, fn, every = 500) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`${what} (waited ${ms / 1000} s${last ? `; last: ${String(last).slice(0, 200)}` : ""})`);
}

async function http(method, url, body, headers = {}) {
  const r = await fetch(url, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, json, text };
}

/// The Your App contacts with this email, through the emulator's API.
async function appContacts(email) {
  const r = await http("GET", `${REST_API}/contacts?email=${encodeURIComponent(email)}`, undefined,
    { authorization: `Bearer ${REST_KEY}` });
  check(r.status === 200, `Your App GET /contacts?email= answered ${r.status}: ${r.text.slice(0, 200)}`);
  return r.json.data ?? [];
}

/// Changes a GHL contact as a person in GHL would (the sandbox sends the webhook).
async function editGhl(id, fields) {
  const r = await http("PUT", `${GHL}/_sandbox/contacts/${id}`, fields);
  check(r.status === 200, `GHL sandbox PUT /_sandbox/contacts/${id} answered ${r.status}: ${r.text.slice(0, 200)}`);
  return r.json.contact;
}

async function faults(rules) {
  const r = await http("PUT", `${REST}/_sandbox/faults`, { rules });
  check(r.status === 200, `Your App /_sandbox/faults answered ${r.status}: ${r.text.slice(0, 200)}`);
}

async function login() {
  await open("/ui/login");
  await need("form#login-form", "login form");
  await page.fill("input#token", TOKEN);
  await Promise.all([page.waitForURL(`${BASE}/ui/`), page.click("form#login-form button[type=submit]")]);
  const h1 = (await page.locator("h1").textContent()).trim();
  check(/overview/i.test(h1), `after signing in the page is "${h1}", not the overview`);
}

const flowPath = `/ui/flows/${encodeURIComponent(FLOW)}`;
const flowRow = `table#flows tr[data-flow="${FLOW}"]`;

// ---------------------------------------------------------------------------------------------
// Phase 1: sign in, connect GHL, create and edit a flow.

async function phase1() {
  await step("login", [], async () => {
    await open("/ui/login");
    await shot("login");
    // A wrong token is refused with a message, and no session.
    await page.fill("input#token", "not-the-token");
    expectingErrors = true; // the refusal is a 401 page, which Chromium logs as a console error
    try {
      await Promise.all([page.waitForNavigation(), page.click("form#login-form button[type=submit]")]);
      await need("#login-error", "wrong-token message");
    } finally {
      expectingErrors = false;
    }
    check(new URL(page.url()).pathname === "/ui/login", "a wrong token left the login page");
    await login();
  });

  await step("overview", ["login"], async () => {
    await open("/ui/");
    await need("nav[aria-label=Main]", "main navigation");
    await shot("overview");
  });

  await step("keyboard", ["login"], async () => {
    await open("/ui/");
    await page.keyboard.press("Tab");
    const first = await page.evaluate(() => ({
      cls: document.activeElement.className, href: document.activeElement.getAttribute("href"),
      text: document.activeElement.textContent.trim(),
    }));
    check(first.href === "#main", `the first Tab stop is "${first.text}" (${first.href}), not the skip link`);
    const visible = await page.evaluate(() => {
      const r = document.activeElement.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && r.top >= 0;
    });
    check(visible, "the focused skip link is not visible");
    let inNav = false;
    for (let i = 0; i < 6 && !inNav; i++) {
      await page.keyboard.press("Tab");
      inNav = await page.evaluate(() => !!document.activeElement.closest("nav"));
    }
    check(inNav, "Tab from the top does not reach the main navigation within 6 stops");
    // The skip link moves focus to <main>.
    await open("/ui/");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    const focused = await page.evaluate(() => document.activeElement.id);
    check(focused === "main", `the skip link left focus on "${focused}", not main#main`);
  });

  await step("connections", ["login"], async () => {
    await open("/ui/connections");
    await need("table#connections", "connections table");
    for (const name of ["ghl", "your_app"]) {
      const row = page.locator(`table#connections tr[data-connection="${name}"]`);
      check(await row.count() === 1, `no row tr[data-connection="${name}"] in table#connections`);
      const status = (await row.locator(".status").textContent() ?? "").trim();
      check(status.length > 0, `the .status cell of ${name} is empty`);
    }
    await shot("connections");
  });

  await step("connect-ghl-oauth", ["login"], async () => {
    await open("/ui/connections/ghl");
    await need("a#connect-oauth", "OAuth connect link");
    await Promise.all([page.waitForURL((u) => u.href.startsWith(GHL)), page.click("a#connect-oauth")]);
    check(page.url().includes("/oauth/chooselocation"), `the OAuth link went to ${page.url()}, not the consent page`);
    const allow = LOCATION
      ? page.locator(`a.location[data-location-id="${LOCATION}"]`)
      : page.locator("a.location").first();
    await allow.waitFor({ state: "visible" });
    await allow.click();
    try {
      await page.waitForURL((u) => u.href.startsWith(BASE) && u.pathname === "/ui/connections/ghl");
    } catch {
      throw new Error(`after consent the browser is on ${page.url()}, not /ui/connections/ghl: ${
        ((await page.locator("body").textContent()) ?? "").trim().slice(0, 200)}`);
    }
    const notice = await need("p#connected-notice", "connected notice");
    const text = await notice.textContent();
    check(!LOCATION || text.includes(LOCATION) || /connected/i.test(text),
      `p#connected-notice does not name the location: "${text.trim()}"`);
  });

  await step("test-connection", ["connect-ghl-oauth"], async () => {
    await open("/ui/connections/ghl");
    await page.click("button#test-connection");
    await need("div#test-result table#endpoints", "connection test result", 15_000);
    const result = await page.locator("div#test-result").textContent();
    check(/reachable/i.test(result), `div#test-result does not say reachable: ${result.slice(0, 200)}`);
    const rows = await page.locator("table#endpoints tr").count();
    check(rows > 1, `table#endpoints lists no endpoints (${rows} rows)`);
    await shot("connection-detail");
  });

  await step("flows-new-from-template", ["login"], async () => {
    await open("/ui/flows");
    await need("table#flows, a#new-flow", "flows list");
    await Promise.all([page.waitForURL(`${BASE}/ui/flows/new`), page.click("a#new-flow")]);
    const select = await need("select#template", "template picker");
    const values = await select.locator("option").evaluateAll((os) => os.map((o) => o.value));
    check(values.includes(TEMPLATE), `select#template has no option "${TEMPLATE}" (has: ${values.join(", ")})`);
    await page.selectOption("select#template", TEMPLATE);
    await page.fill("input#flow-name", FLOW);
    await Promise.all([page.waitForURL((u) => u.pathname !== "/ui/flows/new"), page.click("button#create-flow")]);
    await page.waitForLoadState();
    const err = await page.locator(".notice.error").count();
    check(err === 0, `creating the flow failed: ${err && (await page.locator(".notice.error").first().textContent())}`);
    await need("table#mapping tr.mapping-row", "mapping editor");
    check(decodeURIComponent(new URL(page.url()).pathname) === `/ui/flows/${FLOW}`,
      `the new flow's editor is at ${page.url()}, not ${flowPath}`);
  });

  await step("edit-mapping-and-save", ["flows-new-from-template"], async () => {
    await open(flowPath);
    const rows = page.locator("table#mapping tr.mapping-row");
    const before = await rows.count();
    check(before > 0, "the template's mapping has no rows");
    await page.click("button#add-mapping-row");
    await until(3_000, "button#add-mapping-row added no tr.mapping-row", async () => (await rows.count()) === before + 1, 100);
    const row = rows.nth(before);
    // Your App keeps extra fields as custom fields: GHL's website lands in custom.website.
    await row.locator("input.source-field").fill("website");
    await row.locator("input.target-field").fill("custom.website");
    // Edit an existing row too: first_name keeps `trim` as its transform (chosen explicitly).
    const firstTransform = rows.nth(0).locator("select.transform");
    if (await firstTransform.count()) {
      const opts = await firstTransform.locator("option").evaluateAll((os) => os.map((o) => o.value));
      if (opts.includes("trim")) await firstTransform.selectOption("trim");
    }
    await Promise.all([page.waitForNavigation(), page.click("button#save-flow")]);
    check(await page.locator("div#validation").count() === 1, `no div#validation on ${page.url()} after saving`);
    const problems = page.locator("div#validation .error, div#validation [role=alert]");
    if (await problems.count()) {
      throw new Error(`saving failed validation: ${((await problems.first().textContent()) ?? "").trim().slice(0, 300)}`);
    }
    await need("#saved-notice, #valid-notice", "saved/valid notice after save");
    const yaml = await page.locator("textarea#yaml").inputValue();
    check(yaml.includes("custom.website"), "textarea#yaml does not show the added mapping (custom.website)");
    // Saved for real: a fresh load shows the row.
    await open(flowPath);
    const targets = await page.locator("table#mapping input.target-field").evaluateAll((is) => is.map((i) => i.value));
    check(targets.includes("custom.website"), `after reload the mapping has no custom.website row (${targets.join(", ")})`);
    await shot("flow-editor");
  });
}

// ---------------------------------------------------------------------------------------------
// Phase 2, after the restart: the engine runs the flow.

async function phase2() {
  const [first, second] = CONTACTS;
  await step("login-again", [], login);

  await step("dry-run", ["login-again"], async () => {
    await open(flowPath);
    await need("button#dry-run", "dry-run button");
    const sampleSource = page.locator("select#sample-source");
    let how;
    if (await sampleSource.count()) {
      const opts = await sampleSource.locator("option").evaluateAll((os) => os.map((o) => o.value).filter(Boolean));
      check(opts.length > 0, "select#sample-source offers no sample");
      await sampleSource.selectOption(opts[0]);
      how = `sample-source ${opts[0]}`;
    } else {
      // A real GHL contact as the sample.
      const r = await http("GET", `${GHL}/_sandbox/contacts/${first.id}`);
      check(r.status === 200, `GHL sandbox contact ${first.id}: ${r.status}`);
      await page.fill("textarea#sample-record", JSON.stringify(r.json.contact ?? r.json, null, 2));
      how = `sample-record of GHL contact ${first.id}`;
    }
    await page.click("button#dry-run");
    await need("div#dry-run-result table#dry-run-diff", `dry-run result (${how})`, 15_000);
    const rows = await page.locator("table#dry-run-diff tr").count();
    check(rows > 1, `table#dry-run-diff has no field rows (${rows})`);
    await shot("dry-run");
  });

  await step("switch-on", ["login-again"], async () => {
    await open("/ui/flows");
    await need(flowRow, `the flow ${FLOW} in table#flows`);
    const state = async () => ((await page.locator(`${flowRow} .flow-state`).textContent()) ?? "").trim().toLowerCase();
    if ((await state()) === "on") {
      // Switched on already: off and on again, both ways checked.
      await page.click(`${flowRow} .toggle-flow`);
      await until(5_000, "the flow did not switch off", async () => (await state()) === "off", 200);
    }
    check((await state()) === "off", `.flow-state is "${await state()}"`);
    const label = ((await page.locator(`${flowRow} .toggle-flow`).textContent()) ?? "").trim();
    check(/switch on/i.test(label), `the toggle says "${label}", not "Switch on"`);
    await page.click(`${flowRow} .toggle-flow`);
    await until(5_000, "the flow did not switch on", async () => (await state()) === "on", 200);
    await open("/ui/flows");
    check((await state()) === "on", "after a reload the flow is not on");
    await shot("flows");
  });

  const stamp = Date.now().toString(36);
  await step("live-sync", ["switch-on"], async () => {
    check(first, "GHL_CONTACTS names no contact");
    await open("/ui/monitor");
    await need("div#live-events", "live events");
    const seen = new Set(await page.locator("div#live-events tr[data-event-id]").evaluateAll(
      (rs) => rs.map((r) => r.getAttribute("data-event-id"))));
    const website = `https://browser-${stamp}.example.com`;
    await editGhl(first.id, { firstName: `Browser${stamp}`, website });
    // htmx refreshes the list every 2 s: no reload.
    await until(WAIT_LIVE_MS, `Monitor shows no new event of GHL contact ${first.id} in div#live-events`, async () => {
      const rows = await page.locator("div#live-events tr[data-event-id]").evaluateAll(
        (rs) => rs.map((r) => [r.getAttribute("data-event-id"), r.textContent]));
      return rows.some(([id, text]) => !seen.has(id) && text.includes(first.id));
    }, 1_000);
    const app = await until(WAIT_LIVE_MS, `Your App has no contact ${first.email} with first_name Browser${stamp}`,
      async () => (await appContacts(first.email)).find((c) => c.first_name === `Browser${stamp}`), 1_000);
    log(`Your App contact ${app.id} has first_name ${app.first_name}`);
    // The mapping row added in the editor is in force: GHL's website is Your App's custom field.
    const custom = app.custom_fields ?? {};
    check(custom.website === website,
      `the added mapping website → custom.website did not apply: custom_fields = ${JSON.stringify(custom)}`);
    // Switching on also synced the contacts GHL had already: wait for all of them, so no
    // first-time job is still queued when the dead-letter step breaks Your App on purpose.
    await until(WAIT_LIVE_MS, "not every GHL contact reached Your App", async () => {
      for (const c of CONTACTS) if ((await appContacts(c.email)).length === 0) return false;
      return true;
    }, 1_000);
    for (const id of ["div#live-runs", "table#flow-stats", "div#latency-chart", "#queue-depth"]) {
      check(await page.locator(id).count() === 1, `Monitor has no ${id}`);
    }
    const statsRow = await page.locator("table#flow-stats").textContent();
    check(statsRow.includes(FLOW), `table#flow-stats has no row for ${FLOW}`);
    await shot("monitor");
    await page.setViewportSize({ width: 375, height: 800 });
    await open("/ui/monitor");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await shot("monitor-phone");
    await page.setViewportSize({ width: 1280, height: 900 });
    check(overflow <= 1, `at 375 px the monitor page scrolls sideways by ${overflow} px`);
  });

  let deadJob = null;
  await step("dead-letter", ["switch-on"], async () => {
    check(second, "GHL_CONTACTS names a second contact");
    await faults([{ route: "*", errorRate: 1.0 }]);
    try {
      await editGhl(second.id, { firstName: `Dead${stamp}` });
      await open("/ui/dlq");
      deadJob = await until(WAIT_DEAD_MS, `the job of GHL contact ${second.id} did not reach table#dlq`, async () => {
        await page.reload();
        const rows = await page.locator("table#dlq tr[data-job-id]").evaluateAll(
          (rs) => rs.map((r) => [r.getAttribute("data-job-id"), r.textContent]));
        const mine = rows.find(([, text]) => text.includes(second.id));
        return mine && mine[0];
      }, 2_000);
      log(`job ${deadJob} (GHL contact ${second.id}) is in the dead-letter queue`);
    } finally {
      await faults([]);
    }
    await shot("dlq");
  });

  await step("replay", ["dead-letter"], async () => {
    await open("/ui/dlq");
    const row = page.locator(`table#dlq tr[data-job-id="${deadJob}"]`);
    check(await row.count() === 1, `job ${deadJob} is not in table#dlq`);
    page.once("dialog", (d) => d.accept());
    await row.locator("button.replay").click();
    await until(15_000, `job ${deadJob} is still listed after replay`, async () => {
      if (await row.count() === 0) return true;
      await page.reload();
      return (await row.count()) === 0;
    }, 1_000);
    await until(WAIT_LIVE_MS, `after replay Your App has no ${second.email} with first_name Dead${stamp}`,
      async () => (await appContacts(second.email)).find((c) => c.first_name === `Dead${stamp}`), 1_000);
    const empty = await page.locator("p#dlq-empty").count();
    log(`DLQ after replay: ${empty ? "p#dlq-empty shown" : "other items listed"}`);
  });

  await step("audit", ["login-again"], async () => {
    await open("/ui/audit");
    await need("table#audit-calls", "audit calls");
    await need("form#audit-filter", "audit filter");
    check(await page.locator("table#audit-changes").count() === 1, "no table#audit-changes");
    // The sync above made calls and changed records: both lists show them.
    const calls = await page.locator("table#audit-calls tr[data-call-id]").count();
    check(calls > 0, "table#audit-calls lists no call although the flow wrote to Your App");
    const diffs = await page.locator("table#audit-changes .diff-new").count();
    check(diffs > 0, "table#audit-changes shows no record diff (.diff-new)");
    await shot("audit");
  });

  await step("alerts", ["login-again"], async () => {
    await open("/ui/alerts");
    await need("table#alert-rules", "alert rules");
    check(await page.locator("table#alert-history").count() === 1, "no table#alert-history");
    await shot("alerts");
  });

  await step("people", ["login-again"], async () => {
    await open("/ui/people");
    await need("form#people-search", "people search");
    if (first) {
      await page.fill("input#people-q", first.email);
      await page.locator("form#people-search").evaluate((f) => f.requestSubmit());
      await until(10_000, `div#people-results shows nothing for ${first.email}`, async () =>
        ((await page.locator("div#people-results").textContent()) ?? "").includes(first.email), 300);
    }
    await shot("people");
    if (first) {
      // The person: a timeline, and the CSV export answers with CSV naming them.
      const link = page.locator("div#people-results tr", { hasText: first.email }).locator("a").first();
      await Promise.all([page.waitForURL((u) => u.pathname !== "/ui/people"), link.click()]);
      await need("div#timeline", "person timeline");
      const href = await page.locator("a#export-csv").getAttribute("href");
      check(href, "the person page has no a#export-csv");
      const csv = await page.request.get(new URL(href, page.url()).href);
      check(csv.status() === 200, `a#export-csv answered ${csv.status()}`);
      const type = csv.headers()["content-type"] ?? "";
      check(/csv/.test(type), `a#export-csv answered ${type}, not CSV`);
    }
  });
}

// ---------------------------------------------------------------------------------------------

log(`phase ${PHASE}: ${BASE} (screenshots in ${SHOTS})`);
if (PHASE === "1" || PHASE === "all") await phase1();
if (PHASE === "2" || PHASE === "all") await phase2();

await step("no-console-errors", [], async () => {
  check(consoleErrors.length === 0, `${consoleErrors.length} console/page error(s):\n${consoleErrors.join("\n")}`);
});

await browser.close();
const failed = results.filter((r) => r.status !== "passed");
console.log(`\nphase ${PHASE} summary: ${results.length - failed.length}/${results.length} steps passed`);
for (const r of results) {
  console.log(`  ${r.status.padEnd(7)} ${r.name}${r.why ? ` — ${r.why}` : ""}`);
}
console.log(failed.length ? `PHASE ${PHASE} FAILED` : `PHASE ${PHASE} DONE`);
process.exit(failed.length ? 1 : 0);

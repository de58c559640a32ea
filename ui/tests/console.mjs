// Browser test of the console (run by e2e/console_test.go against a real core with the demo
// programmes and plugins): Debian's Chromium driven by playwright-core.
//
// Environment: BASE_URL (http://127.0.0.1:PORT), MARKETING_KEY, FRONTEND_KEY, INGEST_KEY, ADMIN_KEY, ARTIFACTS (a
// directory for screenshots and the exported CSV), CHROMIUM (default /usr/bin/chromium).
// Prints one line per step; exits non-zero at the first failed check.
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const base = process.env.BASE_URL;
const code = process.env.CAMPAIGN_CODE || "weekend-double"; // another code reruns the test on the same database
const eventId = "console-e2e-" + code;
const artifacts = process.env.ARTIFACTS;
mkdirSync(artifacts, { recursive: true });

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
  console.log("ok   " + what);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const outside = [];
const consoleErrors = [];

async function newPage(lang = "en") {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1360, height: 900 }, locale: lang === "ru" ? "ru-RU" : "en-GB" });
  await context.addInitScript((l) => localStorage.setItem("promogate.lang", l), lang);
  const page = await context.newPage();
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith(base + "/") && !u.startsWith("data:") && !u.startsWith("blob:" + base)) outside.push(u);
  });
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  page.setDefaultTimeout(15000);
  return page;
}

async function shot(page, name) {
  await page.waitForFunction(() => !document.querySelector(".loading"));
  await page.screenshot({ path: join(artifacts, name + ".png"), fullPage: true });
  console.log("shot " + name + ".png");
}

async function signIn(page, key) {
  await page.goto(base + "/console/");
  await page.getByLabel(/API key|API-ключ/).fill(key);
  await page.getByRole("button", { name: /Sign in|Войти/ }).click();
  await page.getByTestId("who").waitFor();
}

async function gql(key, query, variables) {
  const res = await fetch(base + "/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: "Bearer " + key },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

try {
  // --- marketing: sign in ---------------------------------------------------------------
  const page = await newPage("en");
  await page.goto(base + "/console/");
  await page.getByLabel("API key").waitFor();
  await shot(page, "signin");
  await page.getByLabel("API key").fill("pgk_0000000000000000_wrongwrongwrongwrongwrong");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("This API key is invalid or revoked.").waitFor();
  check(true, "a wrong key is refused on the sign-in page");
  consoleErrors.length = 0; // the browser logs the refused sign-in's 401
  await signIn(page, process.env.MARKETING_KEY);
  check((await page.getByTestId("who").textContent()).includes("console-marketing"), "the header names the signed-in key");
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "promogate_session");
  check(session && session.httpOnly && session.sameSite === "Strict", "the session cookie is HttpOnly and SameSite=Strict");
  check(!(await page.evaluate(() => document.cookie)).includes("promogate_session"), "the page's script cannot read the session cookie");
  check(!(await page.evaluate(() => JSON.stringify(localStorage))).includes("pgk_"), "no API key is kept in page storage");
  check(await page.getByRole("link", { name: "Audit log" }).count() === 0, "marketing does not see the admin-only audit log");

  // --- campaigns list ----------------------------------------------------------------------
  await page.locator(".sidebar").getByRole("link", { name: "Campaigns" }).click();
  await page.getByRole("link", { name: /ITS PROF gift programme/ }).first().waitFor();
  await shot(page, "campaigns");
  await page.locator("select[name=status]").selectOption("ENDED");
  await page.getByText(/No campaigns match/).waitFor();
  check(true, "filtering by a status with no campaign shows the empty state");
  await shot(page, "campaigns-empty");
  await page.locator("select[name=status]").selectOption("");

  // --- new campaign from the weekenddouble plugin form ------------------------------------------
  await page.getByRole("link", { name: "New campaign" }).first().click();
  await page.locator("[data-plugin=weekenddouble]").click();
  await page.locator("input[name=code]").fill(code);
  await page.locator("input[name=name]").fill("Double points this weekend");
  await page.locator("select[name=program]").selectOption("demo");
  await page.locator("input[name=timeZone]").fill("Europe/Moscow");
  await page.locator("input[name=startsAt]").fill("2026-01-01T00:00");
  const multiplier = page.locator("#config_weekendMultiplier");
  check((await multiplier.inputValue()) === "2", "the form is filled with the plugin's default configuration");
  await multiplier.fill("500");
  await page.getByRole("button", { name: "Save draft" }).click();
  await page.getByTestId("field-errors").waitFor();
  const fieldError = page.locator(".config-form .form-group:has(#config_weekendMultiplier) .error-detail");
  await fieldError.waitFor();
  check((await fieldError.textContent()).includes("/weekendMultiplier is 500, it must be at most 100"),
    "the plugin's ValidateConfig error is shown on the weekendMultiplier field");
  await shot(page, "new-campaign-field-error");
  await multiplier.fill("3");
  await page.getByRole("button", { name: "Save draft" }).click();
  await page.getByText(`Draft “${code}” saved`).waitFor();
  check(await fieldError.count() === 0, "the field error is gone once the value is fixed");

  // --- simulate on sample events ----------------------------------------------------------------
  const rows = page.locator("[data-testid^=sample-]");
  for (let i = 0; i < 2; i++) {
    await rows.nth(i).getByLabel("Member ref").fill("demo-anna");
  }
  await rows.nth(0).getByLabel("Occurred at").fill("2026-01-10T12:00"); // a Saturday
  await rows.nth(1).getByLabel("Occurred at").fill("2026-01-12T12:00"); // a Monday
  await rows.nth(0).getByLabel("Attributes (JSON)").fill('{"amount": 1000}');
  await rows.nth(1).getByLabel("Attributes (JSON)").fill('{"amount": 1000}');
  await page.getByRole("button", { name: "Simulate" }).click();
  await page.getByTestId("decision-0").getByText(/credit/).waitFor();
  const d0 = await page.getByTestId("decision-0").textContent();
  const d1 = await page.getByTestId("decision-1").textContent();
  check(d0.includes('"Amount":30') && d0.includes("weekend x3"), "Saturday's purchase of 1000 simulates as 30 points (10 units × 3): " + d0);
  check(d1.includes('"Amount":10'), "Monday's purchase simulates as 10 points: " + d1);
  await shot(page, "new-campaign-simulated");

  // --- activate ------------------------------------------------------------------------------------
  await page.getByRole("button", { name: "Activate", exact: true }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
  await page.waitForURL(new RegExp(`/console/campaigns/${code}$`));
  await page.locator(".badge", { hasText: "Active" }).first().waitFor();
  check(true, "the campaign is active and its page opens");

  // --- an event through the API, then the figures and the member lookup ------------------------------
  const rec = await gql(process.env.INGEST_KEY, `mutation($in: EventInput!) { recordEvent(input: $in) { event { status outcome { campaigns { campaign { code } status effects { points } } } } } }`,
    { in: { type: "purchase", memberRef: "demo-anna", source: "pos", externalId: eventId, occurredAt: new Date().toISOString(), attributes: { amount: 2500 } } });
  const mine = rec.recordEvent.event.outcome.campaigns.find((c) => c.campaign.code === code);
  check(mine && mine.status === "APPLIED", "the recorded event is applied by the new campaign");
  const expected = mine.effects.reduce((s, e) => s + (e.points || 0), 0);
  await page.reload();
  await page.getByTestId("points-issued").waitFor();
  await page.waitForFunction((n) => document.querySelector("[data-testid=points-issued]")?.textContent?.replace(/\D/g, "") === String(n), expected);
  check(true, `the campaign's figures show the ${expected} points issued`);
  check((await page.getByTestId("totals").textContent()).includes("1Applied"), "the campaign's figures count one applied event");
  check(await page.locator(".chart canvas").count() === 1, "the figures are drawn as a chart");
  await shot(page, "campaign");

  // Editing the running campaign's settings shows the change as a diff and asks to confirm.
  await page.getByRole("button", { name: "Edit settings" }).click();
  await page.locator("#edit_weekendMultiplier").fill("4");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  const diff = page.getByRole("dialog").getByTestId("config-diff");
  await diff.waitFor();
  check((await diff.textContent()) === "weekendMultiplier34", "the diff lists weekendMultiplier 3 → 4: " + (await diff.textContent()));
  await shot(page, "campaign-edit-diff");
  await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
  await page.getByRole("button", { name: "Edit settings" }).waitFor();
  await page.waitForFunction(() => document.querySelector("#settings_weekendMultiplier")?.value === "4");
  check(true, "the confirmed settings are saved and shown");

  // --- a shadow run: attached through the API with twice the points per unit, an event through the
  // API, the diff on the campaign's page, then promoted with confirmation ---------------------------
  const live = (await gql(process.env.MARKETING_KEY, `query($c: String!) { campaign(code: $c) { id config } }`, { c: code })).campaign;
  await gql(process.env.MARKETING_KEY, `mutation($in: AttachShadowInput!) { attachShadow(input: $in) { status } }`,
    { in: { campaignId: live.id, config: { ...live.config, pointsPerUnit: 2 * live.config.pointsPerUnit } } });
  const shadowed = await gql(process.env.INGEST_KEY, `mutation($in: EventInput!) { recordEvent(input: $in) { event { outcome { campaigns { campaign { code } effects { points } } } } } }`,
    { in: { type: "purchase", memberRef: "demo-anna", source: "pos", externalId: "shadow-" + eventId, occurredAt: new Date().toISOString(), attributes: { amount: 2500 } } });
  const livePoints = shadowed.recordEvent.event.outcome.campaigns.find((c) => c.campaign.code === code).effects.reduce((s, e) => s + (e.points || 0), 0);
  for (let i = 0; ; i++) {
    const d = (await gql(process.env.MARKETING_KEY, `query($c: String!) { campaign(code: $c) { shadow { diff { events pending } } } }`, { c: code })).campaign.shadow.diff;
    if (d.events === 1 && d.pending === 0) break;
    if (i > 100) throw new Error("the shadow did not decide: " + JSON.stringify(d));
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.reload();
  await page.getByTestId("shadow-totals").waitFor();
  const digits = async (id) => (await page.getByTestId(id).textContent()).replace(/\D/g, "");
  check(await digits("shadow-disagreed") === "1" && await digits("shadow-live-points") === String(livePoints) &&
    await digits("shadow-shadow-points") === String(2 * livePoints),
    `the shadow's diff shows one disagreement, ${livePoints} points live and ${2 * livePoints} shadowed`);
  check(await page.getByTestId("shadow-examples").locator("tbody tr").count() === 1, "the diff lists the event decided differently");
  await shot(page, "campaign-shadow");
  await page.getByRole("button", { name: "Promote to live" }).click();
  check((await page.getByRole("dialog").textContent()).includes("runs the shadow's plugin version and settings"), "promoting asks for confirmation and says what it does");
  await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
  await page.waitForFunction((n) => document.querySelector("#settings_pointsPerUnit")?.value === String(n), 2 * live.config.pointsPerUnit);
  await page.getByText("No shadow is attached.").waitFor();
  check(true, "the promoted shadow's settings are the campaign's, and no shadow is attached");

  // Pause and resume, each confirmed.
  await page.getByRole("button", { name: "Pause" }).click();
  check((await page.getByRole("dialog").textContent()).includes("not evaluated"), "pausing asks for confirmation and says what it does");
  await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
  await page.locator("h1 .badge", { hasText: "Paused" }).waitFor();
  await page.getByRole("button", { name: "Resume" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
  await page.locator("h1 .badge", { hasText: "Active" }).waitFor();
  check(true, "the campaign is paused and resumed");

  await page.locator(".sidebar").getByRole("link", { name: "Members" }).click();
  await page.getByLabel(/External ref/).fill("demo-anna");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name: "Anna Kovalenko" }).click();
  const ev = page.getByTestId("events").locator("tr", { hasText: "pos/" + eventId });
  await ev.waitFor();
  const evText = await ev.textContent();
  check(evText.includes("Double points this weekend") && evText.includes("APPLIED") && evText.includes("+" + expected),
    "the member lookup shows the event with its outcome: " + evText);
  await shot(page, "member");

  // The credited transaction's explanation: event, campaign, the plugin version and checksum
  // that decided, the decision and the effect that made this transaction.
  const plugin = (await gql(process.env.ADMIN_KEY, `{ plugins { name version checksum } }`)).plugins.find((p) => p.name === "weekenddouble");
  const credit = page.locator(".card", { has: page.getByRole("heading", { name: "Points history" }) }).locator("tr", { hasText: "+" + expected }).first();
  await credit.getByRole("button", { name: "Why?" }).click();
  const why = page.getByTestId("explanation");
  await why.waitFor();
  const whyText = await why.textContent();
  check(whyText.includes(eventId) && whyText.includes(code) && whyText.includes("weekenddouble " + plugin.version) &&
    whyText.includes("sha256 " + plugin.checksum) && whyText.includes("credit_points +" + expected) && whyText.includes("this transaction"),
    "the transaction's explanation names the event, campaign, plugin version and checksum, and the effect: " + whyText);
  await shot(page, "member-explanation");
  await why.getByRole("button", { name: "Close" }).click();

  // --- participants of the gift programme, searched ------------------------------------------------
  await page.goto(base + "/console/campaigns/its-gifts-2021");
  const participants = page.locator(".card", { has: page.getByRole("heading", { name: "Participants" }) }).locator("tbody tr");
  await participants.first().waitFor();
  const all = await participants.count();
  await page.locator("input[name=participant-search]").fill("june");
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForFunction(() => document.querySelectorAll(".card tbody tr").length === 1);
  check(all >= 2 && (await participants.first().textContent()).includes("its-june-12"), `searching the ${all} participants for "june" leaves its-june-12`);

  // --- backtest: a draft of the gift programme over 2021, charted per day ---------------------------
  const gifts = await gql(process.env.MARKETING_KEY, `{ campaign(code: "its-gifts-2021") { pluginVersion config } }`);
  await gql(process.env.MARKETING_KEY, `mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { id } }`, { in: {
    code: "its-gifts-draft", name: "Gift programme draft", program: "its-gifts-2021", plugin: "giftbymonth",
    pluginVersion: gifts.campaign.pluginVersion, config: gifts.campaign.config, timeZone: "Europe/Kyiv", startsAt: "2021-01-01T00:00:00+02:00" } });
  await page.goto(base + "/console/campaigns/its-gifts-draft");
  const backtest = page.getByTestId("backtest");
  await backtest.locator("input[name=backtest-from]").fill("2021-01-01");
  await backtest.locator("input[name=backtest-to]").fill("2022-01-01");
  await backtest.getByRole("button", { name: "Run backtest" }).click();
  await page.getByTestId("backtest-status").filter({ hasText: "Done" }).waitFor();
  check((await page.getByTestId("backtest-benefits").textContent()) === "2", "the backtest of the gift draft over 2021 grants the demo's 2 gifts");
  check(await backtest.locator(".chart canvas").count() === 1, "the backtest is drawn as a chart per day");
  await shot(page, "campaign-backtest");

  // --- fulfilment: April 2021 of the gift programme, as CSV -----------------------------------------
  await page.locator(".sidebar").getByRole("link", { name: "Fulfilment" }).click();
  await page.locator("select[name=campaign]").selectOption("its-gifts-2021");
  await page.locator("input[name=month]").fill("2021-04");
  await page.getByTestId("fulfilment").waitFor();
  await shot(page, "fulfilment");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
  const csvPath = join(artifacts, download.suggestedFilename());
  await download.saveAs(csvPath);
  const csv = readFileSync(csvPath, "utf8");
  console.log("csv  " + JSON.stringify(csv));
  const lines = csv.trim().split(/\r\n/);
  check(lines[0] === "recipient,member_ref,member_name,gift,status,benefit_id", "the CSV has its header");
  check(lines.length >= 2, "the CSV lists April 2021's gifts");
  writeFileSync(join(artifacts, "fulfilment-rows.json"), JSON.stringify(lines));

  // Mark the first gift delivered, with a note.
  const fresh = code === "weekend-double"; // a fresh database: nothing was marked or added before
  if (fresh) {
  const first = page.getByTestId("fulfilment").locator("tbody tr").first();
  await first.getByRole("button", { name: "Delivered" }).click();
  await page.getByRole("dialog").getByLabel(/Note/).fill("courier AB-123");
  await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
  await first.locator(".badge", { hasText: "Delivered" }).waitFor();
  check((await first.textContent()).includes("courier AB-123") && (await first.textContent()).includes("console-marketing"),
    "marking a gift delivered shows the new status, who changed it and the note");
  check(await first.getByRole("button", { name: "Delivered" }).count() === 0, "a delivered gift offers no more status changes");
  await shot(page, "fulfilment-delivered");
  }

  // --- rewards catalogue: create, edit the stock, import promo codes from a CSV file --------------------
  await page.locator(".sidebar").getByRole("link", { name: "Rewards" }).click();
  const rewardCode = fresh ? "cinema-2" : "cinema-" + code;
  await page.locator(".filters select").selectOption("demo");
  if (fresh) {
    await page.getByText(/The catalogue is empty/).waitFor();
    await shot(page, "rewards-empty");
  }
  await page.getByRole("button", { name: "New reward" }).click();
  const form = page.getByTestId("new-reward");
  await form.locator("select").selectOption("demo");
  await form.getByLabel("Code", { exact: true }).fill(rewardCode);
  await form.getByLabel("Title").fill("Two cinema tickets with a very long title that has to wrap in the catalogue table nicely");
  await form.getByLabel("Category").fill("partner");
  await form.getByLabel("Price").fill("500");
  await form.getByLabel("Stock").fill("10");
  await form.getByLabel("Regions").fill("Kyiv, Lviv");
  await form.getByLabel(/promo codes/).check();
  await form.getByRole("button", { name: "Save" }).click();
  const reward = page.locator("tr", { hasText: "demo / " + rewardCode });
  await reward.waitFor();
  check((await reward.textContent()).includes("Kyiv, Lviv"), "the new reward is listed with its regions");
  await reward.getByRole("button", { name: "Edit" }).click();
  const editing = page.locator("tr", { has: page.locator("input[type=checkbox]") }).first();
  await editing.locator("input[type=number]").nth(1).fill("7");
  await editing.getByRole("button", { name: "Save" }).click();
  await page.locator("tr", { hasText: "demo / " + rewardCode }).locator("td.num", { hasText: /^7/ }).waitFor();
  check(true, "the stock is changed to 7");
  const codes = join(artifacts, "codes.csv");
  const c = (n) => `${rewardCode.toUpperCase()}-000${n}`;
  writeFileSync(codes, ["code", c(1), c(2), c(3), c(2)].join("\n") + "\n");
  await page.locator("tr", { hasText: "demo / " + rewardCode }).locator("input[type=file]").setInputFiles(codes);
  await page.getByText("3 codes added, 1 already known.").waitFor();
  await page.locator("tr", { hasText: "demo / " + rewardCode }).getByText("Codes left: 3").waitFor();
  check(true, "three codes are imported from the CSV file, the repeated one left out");
  await shot(page, "rewards");

  // --- the other pages, in Russian -------------------------------------------------------------------
  for (const [path, name] of [["/console/plugins", "plugins"]]) {
    await page.goto(base + path);
    await page.locator("h1").waitFor();
    await shot(page, name);
  }
  const ru = await newPage("ru");
  await signIn(ru, process.env.MARKETING_KEY);
  await ru.getByRole("heading", { name: "Кампании" }).waitFor();
  check(true, "the console speaks Russian");
  await shot(ru, "campaigns-ru");
  await ru.goto(base + "/console/campaigns/" + code);
  await ru.getByTestId("points-issued").waitFor();
  await shot(ru, "campaign-ru");

  // --- a frontend key cannot reach admin pages -----------------------------------------------------------
  const fe = await newPage("en");
  await signIn(fe, process.env.FRONTEND_KEY);
  check(await fe.getByRole("link", { name: "Audit log" }).count() === 0, "the frontend key does not see the audit log in the menu");
  check(await fe.getByRole("link", { name: "New campaign" }).count() === 0, "the frontend key does not see New campaign");
  check(await fe.getByRole("link", { name: "Fulfilment" }).count() === 0, "the frontend key does not see Fulfilment");
  await fe.goto(base + "/console/audit");
  await fe.getByTestId("forbidden").waitFor();
  check((await fe.getByTestId("forbidden").textContent()).includes("admin"), "the audit log page refuses the frontend key and names the role it needs");
  await shot(fe, "frontend-forbidden");
  const denied = await fe.evaluate(async () => {
    const r = await fetch("/graphql", { method: "POST", headers: { "Content-Type": "application/json", "X-Promogate-Console": "1" },
      body: JSON.stringify({ query: "{ auditLog { edges { node { id } } } }" }) });
    return (await r.json()).errors?.[0]?.extensions?.code;
  });
  check(denied === "FORBIDDEN", "the API itself refuses auditLog to the frontend session");
  const noHeader = await fe.evaluate(async () => {
    const r = await fetch("/graphql", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ query: "{ viewer { kind } }" }) });
    return (await r.json()).data?.viewer?.kind;
  });
  check(noHeader === "ANONYMOUS", "without the console header the session cookie is ignored (CSRF)");

  // --- an admin corrects points and reverses the correction ---------------------------------------------
  const admin = await newPage("en");
  await signIn(admin, process.env.ADMIN_KEY);
  await admin.goto(base + "/console/members/demo-boris");
  await admin.getByRole("heading", { name: "Adjust points" }).waitFor();
  await page.goto(base + "/console/members/demo-boris");
  await page.getByRole("heading", { name: "Balances" }).waitFor();
  check(await page.getByRole("heading", { name: "Adjust points" }).count() === 0 && await page.getByRole("button", { name: "Reverse" }).count() === 0,
    "marketing is not offered points corrections or reversals on the same member");
  const before = await admin.getByTestId("balances").locator("td.num").first().textContent();
  await admin.locator("input[name=adjust-program]").fill("demo");
  await admin.locator("input[name=adjust-amount]").fill("50");
  await admin.locator("input[name=adjust-reason]").fill("goodwill: late delivery");
  await admin.getByRole("button", { name: "Adjust points" }).click();
  const adjusted = admin.locator("tr", { hasText: "goodwill: late delivery" });
  await adjusted.waitFor();
  const num = (x) => Number(x.replace(/\D/g, ""));
  await admin.waitForFunction(([b]) => document.querySelector("[data-testid=balances] td.num")?.textContent !== b, [before]);
  check(num(await admin.getByTestId("balances").locator("td.num").first().textContent()) === num(before) + 50, "the adjustment adds 50 points to the balance");
  await adjusted.getByRole("button", { name: "Reverse" }).click();
  await admin.getByRole("dialog").getByLabel(/Reason/).fill("entered twice");
  await admin.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
  await admin.locator("tr", { hasText: "goodwill: late delivery" }).getByText("reversed").waitFor();
  await admin.waitForFunction(([b]) => document.querySelector("[data-testid=balances] td.num")?.textContent === b, [before]);
  check(true, "the reversal takes the 50 points back");
  await shot(admin, "member-admin");
  await admin.goto(base + "/console/audit");
  await admin.locator("td", { hasText: "reverseTransaction" }).first().waitFor();
  check(true, "the audit log lists the admin's reversal");
  await shot(admin, "audit");

  // --- sign out ---------------------------------------------------------------------------------------
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("API key").waitFor();
  check(true, "signing out returns to the sign-in page");

  check(outside.length === 0, "no request left the server's origin: " + outside.join(", "));
  check(consoleErrors.length === 0, "no error in the browser console: " + consoleErrors.join(" | "));
  console.log("PASS");
} catch (e) {
  console.log("FAIL " + (e && e.stack ? e.stack : e));
  process.exitCode = 1;
} finally {
  await browser.close();
}

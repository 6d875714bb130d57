// The whole life of a request through the workstation, each role in its own browser context:
// the operator records it by keyboard alone, the dispatcher dispatches it, the unit signs and
// replies, the follow-up agent finds it not solved (reopened) and then solved (closed), and the
// supervisor's ranking moves. Then the privacy walls: a unit cannot open another unit's ticket,
// and a confidential ticket shows the unit no citizen identity.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { artifacts, launchBrowser, startServer } from "./server.mjs";

const PASSWORD = "minsheng-demo";
const UNIT = "cgj";
const UNIT_NAME = "市城市管理和综合执法局";
let server, chrome;

before(async () => {
  server = await startServer();
  chrome = await launchBrowser();
});

after(async () => {
  await chrome?.close();
  await server?.stop();
});

/** A fresh browser context (its own cookies) logged in as `user`. */
async function as(user) {
  const context = await chrome.browser.newContext({ viewport: { width: 1366, height: 900 }, locale: "zh-CN" });
  const page = await context.newPage();
  await page.goto(`${server.url}/login`);
  assert.equal(await page.isHidden("#needs-https"), true, "no HTTPS warning on loopback");
  await page.fill("#username", user);
  await page.fill("#password", PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  assert.ok(!page.url().includes("/login"), `${user} could not log in: ${await page.textContent("body")}`);
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

async function statusOf(page, no) {
  await page.goto(`${server.url}/tickets/${no}`);
  return (await page.textContent("h1 .status")).trim();
}

/** The follow-up sample of the unit in this month's ranking. */
async function rankingSample(page) {
  await page.goto(`${server.url}/dashboard`);
  const row = page.locator("#ranking table.figures tbody tr", { hasText: UNIT_NAME });
  return Number((await row.locator("td").nth(6).textContent()).trim());
}

/** Records a request on the intake screen with the keyboard only; returns its number. */
async function intakeByKeyboard(page, { phone, name, category, address, description, confidential }) {
  await page.goto(`${server.url}/intake`);
  await page.evaluate(() => { window.__samePage = true; });
  const kb = page.keyboard;
  // The number field has the focus when the screen opens; F2 brings it back at any time.
  await kb.press("F2");
  await kb.type(phone);
  await kb.press("Tab");
  await kb.type(name);
  await kb.press("Tab"); // kind
  await kb.press("Tab"); // urgency
  await kb.press("Tab"); // category
  assert.equal(await page.evaluate(() => document.activeElement.id), "category-search");
  await kb.type(category);
  await page.waitForSelector("#category-list [role=option]");
  await kb.press("ArrowDown");
  await kb.press("ArrowUp");
  await kb.press("Enter");
  assert.notEqual(await page.inputValue("#category"), "", "a category was chosen from the suggestions");
  await kb.press("Tab");
  await kb.type(address);
  await kb.press("Tab");
  await kb.type(description);
  await kb.press("Tab");
  if (confidential) await kb.press("Space");
  await kb.press("Control+Enter");
  const created = await page.waitForSelector("#created-ticket");
  assert.equal(await page.evaluate(() => window.__samePage), true, "no page reload");
  assert.equal(await page.evaluate(() => document.activeElement.id), "phone", "ready for the next call");
  return created.getAttribute("data-no");
}

async function dispatch(page, no, unit) {
  await page.goto(`${server.url}/dispatch`);
  await Promise.all([page.waitForNavigation(), page.click(`#new a[data-no="${no}"]`)]);
  const replyBy = (await page.textContent("#preview-reply-by")).trim();
  assert.match(replyBy, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/, "the deadline is shown before confirming");
  await page.selectOption("#lead", unit);
  await Promise.all([page.waitForNavigation(), page.click("#confirm-dispatch")]);
  assert.match(page.url(), /\/dispatch\?done=/);
}

async function signAndReply(page, no, result) {
  await page.goto(`${server.url}/unit`);
  assert.ok(await page.locator(`#inbox a[data-no="${no}"]`).count(), "the ticket is in the unit's inbox");
  await Promise.all([page.waitForNavigation(), page.click(`#inbox a[data-no="${no}"]`)]);
  await Promise.all([page.waitForNavigation(), page.click("#sign")]);
  await page.fill("#reply-result", result);
  await page.selectOption("#reply-claim", "solved");
  await Promise.all([page.waitForNavigation(), page.click("#reply")]);
  assert.equal((await page.textContent("h1 .status")).trim(), "待回访");
}

async function followUp(page, no, outcome) {
  await page.goto(`${server.url}/followup`);
  await Promise.all([page.waitForNavigation(), page.click(`#followup a[data-no="${no}"]`)]);
  assert.ok((await page.textContent("#reply-text")).length > 0, "the reply to read out is shown");
  await Promise.all([page.waitForNavigation(), page.click(`button[name=outcome][value=${outcome}]`)]);
}

let ticket, confidential;

test("a request goes from the phone to closed, and only a confirmed solution closes it", async () => {
  const supervisor = await as("supervisor");
  const before = await rankingSample(supervisor);

  const operator = await as("operator");
  await shot(operator, "01-operator-intake");
  ticket = await intakeByKeyboard(operator, {
    phone: "13912345678", name: "王先生", category: "工地扬尘",
    address: "民声市东湖区湖滨路88号工地", description: "工地夜间施工扬尘严重，路面都是泥。", confidential: false,
  });
  // The next call from the same number shows this ticket in the caller's history at once.
  await operator.keyboard.type("13912345678");
  await operator.waitForSelector(`#history a[href="/tickets/${ticket}"]`);
  await shot(operator, "02-operator-created");

  const dispatcher = await as("dispatcher");
  await page_shot(dispatcher, "/dispatch", "03-dispatcher-queues");
  await dispatch(dispatcher, ticket, UNIT);
  assert.equal(await statusOf(dispatcher, ticket), "待签收");

  const handler = await as(`h-${UNIT}`);
  await page_shot(handler, "/unit", "04-unit-inbox");
  await signAndReply(handler, ticket, "已责令施工单位停止夜间施工并清扫路面。");
  await shot(handler, "05-unit-replied");

  const agent = await as("followup");
  await page_shot(agent, "/followup", "06-followup-console");
  await followUp(agent, ticket, "not_solved");
  assert.equal(await statusOf(agent, ticket), "待签收", "not solved: reopened and back with the unit");
  assert.ok((await agent.textContent(".timeline")).includes("重办"));

  await signAndReply(handler, ticket, "再次现场检查，已安装围挡和喷淋。");
  await followUp(agent, ticket, "solved_satisfied");
  assert.equal(await statusOf(agent, ticket), "已办结");
  await shot(agent, "07-ticket-closed");

  const afterCount = await rankingSample(supervisor);
  assert.equal(afterCount, before + 2, "two reached follow-ups were added to the unit's sample");
  await shot(supervisor, "08-supervisor-dashboard");
});

test("a confidential ticket shows the unit no identity, and another unit cannot open it", async () => {
  const operator = await as("operator");
  confidential = await intakeByKeyboard(operator, {
    phone: "13700001111", name: "李女士", category: "噪声",
    address: "民声市中山区学府路1号", description: "举报隔壁娱乐场所深夜噪声扰民。", confidential: true,
  });
  const dispatcher = await as("dispatcher");
  await dispatch(dispatcher, confidential, "sthj");

  const own = await as("h-sthj");
  await own.goto(`${server.url}/tickets/${confidential}`);
  const body = await own.textContent("body");
  assert.ok(body.includes("保密工单"), "the unit is told why there is no contact");
  assert.ok(!body.includes("李女士") && !body.includes("1111"), "no name, no number digits");
  assert.equal(await own.locator("form[action$=reveal_contact]").count(), 0, "no reveal for a unit");
  await shot(own, "09-unit-confidential");

  const other = await as(`h-${UNIT}`);
  const response = await other.goto(`${server.url}/tickets/${confidential}`);
  assert.equal(response.status(), 403);
  assert.ok(!(await other.textContent("body")).includes("噪声扰民"), "nothing of the ticket leaks");
  await shot(other, "10-other-unit-refused");
});

test("the centre sees the masked contact, and a reveal asks for a reason and is logged", async () => {
  // The ticket is closed: the dispatcher's need for the contact ended with routing.
  const dispatcher = await as("dispatcher");
  await dispatcher.goto(`${server.url}/tickets/${ticket}`);
  const contact = await dispatcher.textContent("#contact");
  assert.ok(contact.includes("139****5678"), `masked number shown: ${contact}`);
  assert.equal(await dispatcher.locator("#reveal-reason").count(), 0, "no reveal without a need");

  // A supervisor checking the handling may, with a purpose from the list and a reason.
  const supervisor = await as("supervisor");
  await supervisor.goto(`${server.url}/tickets/${ticket}`);
  await supervisor.selectOption("#reveal-purpose", "supervision_check");
  await supervisor.fill("#reveal-reason", "市民要求回电核实");
  await Promise.all([supervisor.waitForNavigation(), supervisor.click("#contact button[type=submit]")]);
  assert.ok((await supervisor.textContent("#contact")).includes("13912345678"));
  assert.ok((await supervisor.textContent(".timeline")).includes("查看联系方式"));
  await shot(supervisor, "11-ticket-revealed");

  // The supervisor sees who looked at the ticket: the dispatcher's read and the reveal among them.
  await supervisor.goto(`${server.url}/privacy`);
  await supervisor.fill("#privacy-no", ticket);
  await Promise.all([supervisor.waitForNavigation(), supervisor.click("form.filters button[type=submit]")]);
  const trail = await supervisor.textContent("#ticket-access");
  for (const expected of ["dispatcher", "supervisor", "查阅工单", "查看联系方式", "督办核查: 市民要求回电核实", "operator"]) {
    assert.ok(trail.includes(expected), `${expected} in the ticket's access trail: ${trail}`);
  }
  assert.ok(await supervisor.locator("#people td").count(), "everyone's looks are counted");
  await shot(supervisor, "11b-privacy-ticket");
});

test("pages switch to English and every main page renders for its role", async () => {
  const admin = await as("admin");
  await admin.goto(`${server.url}/lang?to=en&back=/admin`);
  assert.equal(await admin.getAttribute("html", "lang"), "en");
  assert.ok((await admin.textContent("h1")).includes("Administration"));
  await shot(admin, "12-admin-en");
  const manager = await as("m-d1-s1");
  await manager.goto(`${server.url}/unit`);
  assert.ok(await manager.locator("table.load").count(), "a unit manager sees the unit's load");
  await shot(manager, "13-unit-manager");
});

async function page_shot(page, where, name) {
  await page.goto(`${server.url}${where}`);
  await shot(page, name);
}

/** The JSON API as staff, for the steps the citizen waits on. */
async function api(user) {
  const login = await fetch(`${server.url}/api/v1/auth/token`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: user, password: PASSWORD }),
  });
  const { token } = await login.json();
  return async (path, body) => {
    const r = await fetch(`${server.url}/api/v1${path}`, {
      method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    assert.ok(r.ok, `${path}: ${r.status} ${await r.text()}`);
  };
}

test("a citizen submits on a phone-sized page, follows the request and rates the reply", async () => {
  const context = await chrome.browser.newContext({ viewport: { width: 390, height: 844 }, locale: "zh-CN", isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await page.goto(`${server.url}/citizen`);
  await page.selectOption("#category", "030503");
  await page.fill("#address", "东湖区湖滨街道幸福路12号");
  await page.fill("#description", "人行道井盖松动，晚上很危险");
  await page.fill("#phone", "13612340000");
  const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");
  await page.setInputFiles("#photo", { name: "well-cover.png", mimeType: "image/png", buffer: png });
  await shot(page, "14-citizen-form");
  await Promise.all([page.waitForNavigation(), page.click("#submit")]);
  const no = await page.getAttribute("#receipt-no", "data-no");
  const code = (await page.textContent("#receipt-code")).trim();
  assert.match(code, /^[2-9A-Z]{12}$/);
  await shot(page, "15-citizen-receipt");
  await Promise.all([page.waitForNavigation(), page.click("#follow")]);
  assert.equal((await page.textContent("#plain-status")).trim(), "已受理，正在安排承办单位");

  const dispatcher = await api("dispatcher");
  const handler = await api("h-cgj");
  await dispatcher(`/tickets/${no}/dispatch`, { lead: "cgj" });
  await handler(`/tickets/${no}/sign`, {});
  await handler(`/tickets/${no}/reply`, { result: "已更换井盖并加固", claim: "solved" });

  // Later, from the track page with the number and code typed in.
  await page.goto(`${server.url}/citizen/track`);
  await page.fill("#track-no", no);
  await page.fill("#track-code", code.toLowerCase());
  await Promise.all([page.waitForNavigation(), page.click("#track")]);
  assert.equal((await page.textContent("#citizen-reply")).trim(), "已更换井盖并加固");
  await shot(page, "16-citizen-rate");
  await Promise.all([page.waitForNavigation(), page.click("button[name=rating][value=satisfied]")]);
  assert.equal((await page.textContent("#plain-status")).trim(), "已办结");
  await shot(page, "17-citizen-closed");

  // The rating is the follow-up record: the centre sees the ticket closed as solved.
  const staff = await as("dispatcher");
  assert.equal(await statusOf(staff, no), "已办结");
  assert.ok((await staff.textContent(".timeline")).includes("回访"));
  // The photo came through, sealed and back: the centre's page shows the image.
  const width = await staff.$eval("#photo", (img) => img.complete && img.naturalWidth);
  assert.equal(width, 1);
});

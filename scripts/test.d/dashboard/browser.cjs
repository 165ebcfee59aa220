// The jobs dashboard in headless Chromium against a real `gradekit serve` (started by
// ../dashboard_browser.sh): jobs created through the API and run by trainer.py; the refusal
// without a key, sign-in, the job list, a job page whose curves have one point per metrics
// step and checkpoint markers, a live update when the trainer reports a new step (no reload),
// escaping of hostile metadata, the session cookie's flags, no request leaving the origin, no
// CSP violation, a screenshot, sign-out.
// Env: GK_URL, GK_KEY, CHROMIUM, PW (path of playwright-core), OUT, GATE_DIR, NETLOG.
"use strict";
const fs = require("fs");
const path = require("path");
const { chromium } = require(process.env.PW);

const base = process.env.GK_URL;
const key = process.env.GK_KEY;
const out = process.env.OUT;
const gates = process.env.GATE_DIR;
const HOSTILE = "<script>window.__xss=1</script>\"'><img src=x onerror=\"window.__xss=2\">";
let failed = 0;
function check(what, ok, detail) {
  if (ok) {
    console.log("ok   " + what);
  } else {
    failed += 1;
    console.log("FAIL " + what + (detail === undefined ? "" : ": " + JSON.stringify(detail)));
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(method, p, body) {
  const headers = { Authorization: "Bearer " + key };
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const r = await fetch(base + p, { method, headers, body: payload });
  const j = await r.json();
  if (!r.ok) {
    throw new Error(method + " " + p + ": " + r.status + " " + JSON.stringify(j));
  }
  return j;
}

async function metricsSteps(id) {
  const ev = await api("GET", "/v1/fine_tuning/jobs/" + id + "/events?limit=100");
  return ev.data.filter((e) => e.type === "metrics").length;
}

async function waitFor(what, fn, ms) {
  const until = Date.now() + (ms || 60000);
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error("timed out waiting for " + what);
    await sleep(100);
  }
}

async function points(page, chart, series) {
  return page.$eval(
    "svg#" + chart + " polyline.series[data-series=\"" + series + "\"]",
    (p) => ({
      attr: Number(p.getAttribute("data-points")),
      drawn: p.getAttribute("points").trim().split(/\s+/).length,
    })
  );
}

(async () => {
  // ---- jobs through the API ----
  const line = { messages: [{ role: "user", content: "What is 2+2? Answer with the number." }], answer: "4" };
  const text = Array(20).fill(JSON.stringify(line)).join("\n") + "\n";
  const fd = new FormData();
  fd.append("purpose", "fine-tune");
  fd.append("file", new Blob([text], { type: "application/jsonl" }), "train.jsonl");
  const file = await api("POST", "/v1/files", fd);
  const grader = {
    type: "multi", name: "answer",
    graders: {
      exact: { type: "string_check", name: "exact", input: "{{ sample.output_text }}", reference: "{{ item.answer }}", operation: "eq" },
      fuzzy: { type: "text_similarity", name: "fuzzy", input: "{{ sample.output_text }}", reference: "{{ item.answer }}", evaluation_metric: "fuzzy_match" },
    },
    calculate_output: "0.5 * exact + 0.5 * fuzzy",
  };
  const method = { type: "reinforcement", reinforcement: { grader } };
  const done = await api("POST", "/v1/fine_tuning/jobs", {
    model: "tiny", training_file: file.id, suffix: "done", method, metadata: { note: HOSTILE },
  });
  await waitFor("the first job to succeed", async () =>
    (await api("GET", "/v1/fine_tuning/jobs/" + done.id)).status === "succeeded");
  const live = await api("POST", "/v1/fine_tuning/jobs", {
    model: "tiny", training_file: file.id, suffix: "gated", method,
  });
  await waitFor("the gated job's first 5 steps", async () => (await metricsSteps(live.id)) === 5);

  // ---- the browser ----
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      // Every request but to loopback (implicitly bypassed) goes to a closed port and fails.
      "--proxy-server=127.0.0.1:9",
      "--log-net-log=" + process.env.NETLOG, "--net-log-capture-mode=Default"],
  });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await ctx.newPage();
  const requests = [];
  const problems = [];
  page.on("request", (r) => requests.push(r.url()));
  // The refusals are 401s on purpose; the browser logs each one as an error.
  let refusing = true;
  page.on("console", (m) => {
    if (m.type() === "error" && !(refusing && /status of 401/.test(m.text()))) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));

  // Refused without a key.
  let resp = await page.goto(base + "/");
  check("GET / without a key is refused (401)", resp.status() === 401, resp.status());
  check("the refusal shows the sign-in form", (await page.locator("form#login").count()) === 1);
  let html = await page.content();
  check("the refusal shows no job", !html.includes(done.id) && !html.includes(live.id));
  resp = await page.goto(base + "/jobs/" + done.id);
  check("a job page without a key is refused (401)", resp.status() === 401, resp.status());
  check("the refused job page shows nothing of the job", !(await page.content()).includes("succeeded"));

  // Sign in.
  refusing = false;
  await page.goto(base + "/login");
  await page.fill("#key", key);
  await Promise.all([page.waitForURL(base + "/"), page.click("#login button")]);
  const cookies = await ctx.cookies();
  const sc = cookies.find((c) => c.name === "gradekit_session");
  check("the session cookie is HttpOnly and SameSite=Strict",
    sc && sc.httpOnly && sc.sameSite === "Strict", sc);
  check("the cookie holds a session id, not the key", sc && !sc.value.includes(key));
  const stored = await page.evaluate(() => [document.cookie, JSON.stringify(sessionStorage), JSON.stringify(localStorage), location.href]);
  check("no script can read the key or the session", !stored.join(" ").includes(key) && stored[0] === "", stored);

  // The job list.
  const ids = await page.$$eval("#jobs tbody tr", (trs) => trs.map((t) => t.getAttribute("data-job")));
  check("the job list shows both jobs", ids.includes(done.id) && ids.includes(live.id), ids);
  const row = await page.$eval("#jobs tbody tr[data-job=\"" + done.id + "\"]", (r) => r.innerText);
  check("a row has status, model and method", /succeeded/.test(row) && /tiny/.test(row) && /reinforcement/.test(row), row);

  // The finished job.
  await page.click("a[href=\"/jobs/" + done.id + "\"]");
  await page.waitForURL(base + "/jobs/" + done.id);
  const steps = await metricsSteps(done.id);
  for (const [chart, series] of [["chart-loss", "train_loss"], ["chart-reward", "train_reward_mean"],
    ["chart-subgraders", "train_exact_reward_mean"], ["chart-errors", "train_grader_error_mean"],
    ["chart-errors", "answer: train_sample_parse_error_mean"]]) {
    const p = await points(page, chart, series);
    check(chart + " " + series + ": one point per metrics step (" + steps + ")",
      p.attr === steps && p.drawn === steps, p);
  }
  const valid = await points(page, "chart-reward", "valid_reward_mean");
  check("valid_reward_mean: one point per step that reported it (6)", valid.drawn === 6, valid);
  const marks = await page.$$eval("svg#chart-loss line.marker", (ls) => ls.map((l) => l.getAttribute("data-x")));
  check("checkpoints marked on the chart (3, 6, 9, 12)", marks.join(",") === "3,6,9,12", marks);
  const metaText = await page.$eval("#metadata", (t) => t.innerText);
  check("hostile metadata shown as text", metaText.includes("<script>window.__xss=1</script>"), metaText);
  check("hostile metadata did not run or inject",
    (await page.evaluate(() => window.__xss)) === undefined && (await page.locator("img[src=x]").count()) === 0);
  check("the grader is shown formatted",
    (await page.$eval("#grader", (g) => g.innerText)).includes("0.5 * exact + 0.5 * fuzzy"));
  check("events listed", (await page.locator("#events tbody tr").count()) > steps);

  // The running job, live.
  resp = await page.goto(base + "/jobs/" + live.id);
  check("the running job's page is live", (await page.getAttribute("#job", "data-live")) === "true");
  let p = await points(page, "chart-loss", "train_loss");
  check("running job: one point per step so far (5)", p.attr === 5 && p.drawn === 5, p);
  await page.evaluate(() => { window.__marker = "same page"; });
  const rowsBefore = await page.locator("#events tbody tr").count();
  fs.writeFileSync(path.join(gates, live.id + "-6"), "");
  await page.waitForFunction(() => {
    const l = document.querySelector("svg#chart-loss polyline.series[data-series=\"train_loss\"]");
    return l && l.getAttribute("data-points") === "6";
  }, null, { timeout: 30000 });
  p = await points(page, "chart-loss", "train_loss");
  check("live update: the new step is drawn (6 points)", p.attr === 6 && p.drawn === 6, p);
  const rowsAfter = await page.locator("#events tbody tr").count();
  const fresh = await page.$$eval("#events tbody tr", (rs, n) => rs.slice(0, n).map((r) => r.innerText), rowsAfter - rowsBefore);
  check("live update: the new events are on top of the list",
    rowsAfter > rowsBefore && fresh.some((t) => /Step 6\//.test(t)), [rowsBefore, rowsAfter, fresh]);
  check("live update without a reload",
    (await page.evaluate(() => window.__marker)) === "same page" &&
    (await page.evaluate(() => performance.getEntriesByType("navigation").length)) === 1);
  fs.writeFileSync(path.join(gates, live.id + "-7"), "");
  await page.waitForFunction(() => /Step 7/.test(document.querySelector("#events tbody tr").innerText), null, { timeout: 30000 });
  fs.mkdirSync(out, { recursive: true });
  await page.screenshot({ path: path.join(out, "dashboard.png"), fullPage: true });
  check("screenshot " + path.join(out, "dashboard.png"), fs.statSync(path.join(out, "dashboard.png")).size > 10000);
  fs.writeFileSync(path.join(out, "job.html"), await page.content());
  for (let s = 8; s <= 12; s++) fs.writeFileSync(path.join(gates, live.id + "-" + s), "");
  await page.waitForFunction(() => document.querySelector("#job").getAttribute("data-live") === "false", null, { timeout: 60000 });
  check("the page stops following a finished job",
    /succeeded/.test(await page.$eval("#summary", (s) => s.innerText)));

  // Sign out.
  await page.click("form.logout button");
  await page.waitForURL(base + "/login");
  refusing = true;
  resp = await page.goto(base + "/");
  check("after sign-out the dashboard refuses again", resp.status() === 401, resp.status());

  const foreign = requests.filter((u) => !u.startsWith(base + "/"));
  check("no request left the origin (" + requests.length + " requests)", foreign.length === 0, foreign);
  check("no console error, CSP violation or script error", problems.length === 0, problems);
  await browser.close();
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log("FAIL " + (e && e.stack ? e.stack : e));
  process.exit(1);
});

// The wall page: fetches /api/overview every 2 s and redraws; no framework, nothing from outside.
// Every number carries data-k (its key in the overview) and data-v (its raw value) so tests can
// compare the page with Prometheus. A number that is not current turns grey with its time.
"use strict";

const REFRESH_MS = 2000;        // the page promises an update at least every 5 s
const FETCH_TIMEOUT_MS = 4000;
const MAX_AGE_S = 15;           // an older overview means the wall server's refresher is stuck
const SCALE_MAX = 1.1;          // facility bars span 0–110 % so corridor beds still show
const STAGES = ["submitted", "accepted", "dispatched", "arrived", "completed"];
const STAGE = {
  submitted: ["申请", "Submitted"], accepted: ["接收", "Accepted"], dispatched: ["派车", "Dispatched"],
  arrived: ["到达", "Arrived"], completed: ["交接", "Handover"],
};
const CATEGORY = {
  chest_pain: ["胸痛", "Chest pain"], stroke: ["卒中", "Stroke"], trauma: ["创伤", "Trauma"],
  critical_maternal: ["危重孕产妇", "Critical maternal"], critical_neonatal: ["危重新生儿", "Critical neonatal"],
};
const CLOCK = { accepted: ["接收限", "accept"], arrived: ["到达限", "arrive"] };
// The five centers' standards (schemas/policy.yaml ids): words only; the minutes come from the server.
const INTERVAL = {
  fmc_to_ecg: ["首次医疗接触→心电图", "FMC → ECG"], ecg_to_diagnosis: ["心电图→确诊", "ECG → diagnosis"],
  door_to_wire: ["入门→导丝", "door → wire"], cath_lab_activation: ["导管室激活", "cath lab"],
  fmc_to_wire_transfer: ["首次医疗接触→导丝", "FMC → wire"], door_in_door_out: ["入门→出门", "DIDO"],
  door_to_needle_stemi: ["入门→溶栓", "door → needle"], onset_to_needle: ["发病→溶栓", "onset → needle"],
  door_to_needle: ["入门→溶栓", "door → needle"], door_to_needle_45: ["入门→溶栓 45", "door → needle 45"],
  door_to_puncture: ["入门→穿刺", "door → puncture"], decision_to_delivery: ["决定→分娩", "decision → delivery"],
  trauma_door_to_ct: ["入门→CT", "door → CT"], neonatal_door_to_nicu: ["入门→NICU", "door → NICU"],
};
const FEED = { beds: ["床位", "beds"], visits: ["门急诊", "visits"], requests: ["申请", "requests"] };
const LEVEL_WORDS = { 1: "OPEL 1", 2: "OPEL 2", 3: "OPEL 3", 4: "OPEL 4" };

let lastDoc = null;
// The policy's occupancy bands [amber, red, corridor beds], sent by the server with every overview
// (doc.thresholds): the page holds no threshold of its own.
let bands = [];
let updates = 0;

const hhmmss = (iso) => (iso ? iso.slice(11, 19) : "--:--:--");
const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const fmtInt = (v) => (isNum(v) ? String(Math.round(v)) : "—");
const fmtPct = (r) => (isNum(r) ? (r * 100).toFixed(1) + "%" : "—");

function elapsedText(seconds) {
  // Minutes and seconds in words: "16:20" on a wall reads as a time of day.
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}分${String(s % 60).padStart(2, "0")}秒`;
}

function make(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function bilingual(tag, cls, zh, en) {
  const node = make(tag, cls, zh + " ");
  node.append(make("span", "en", en));
  return node;
}

function setK(key, value, text) {
  for (const node of document.querySelectorAll(`[data-k="${key}"]`)) {
    node.dataset.v = isNum(value) ? String(value) : "";
    node.textContent = text;
  }
}

function markSection(name, section) {
  for (const node of document.querySelectorAll(`[data-section="${name}"]`)) {
    node.classList.toggle("stale", section.stale);
    node.dataset.stale = section.stale ? "1" : "0";
    const updated = node.querySelector(".updated");
    if (updated) {
      updated.textContent = section.stale ? `最后更新 last updated ${hhmmss(section.updated_at)}` : "";
    }
  }
}

function renderBanners(banners) {
  const box = document.getElementById("banners");
  box.replaceChildren(...banners.map((b) => {
    const node = make("div", `banner ${b.what}`, b.zh + " · ");
    node.append(make("span", "en", b.en));
    return node;
  }));
}

function renderCounty(d) {
  setK("county.occupancy", d.occupancy, fmtPct(d.occupancy));
  for (const k of ["beds_staffed", "beds_occupied", "beds_free"]) setK(`county.${k}`, d[k], fmtInt(d[k]));
  const runway = document.getElementById("runway");
  runway.textContent = isNum(d.runway_hours) && d.runway_hours < 72
    ? `按当前趋势约 ${d.runway_hours.toFixed(1)} 小时达 95% · 95% in about ${d.runway_hours.toFixed(1)} h`
    : "";
}

function renderVisits(d) {
  for (const k of ["outpatient", "emergency"]) setK(`visits_today.${k}`, d[k], fmtInt(d[k]));
}

function renderEd(d) {
  for (const [level, count] of Object.entries(d.by_triage)) setK(`ed.by_triage.${level}`, count, fmtInt(count));
  setK("ed.total", d.total, fmtInt(d.total));
  setK("ed.long_stay", d.long_stay, fmtInt(d.long_stay));
  setK("ed.ed_beds", d.ed_beds, fmtInt(d.ed_beds));
}

function facilityBar(item, sectionStale) {
  const stale = sectionStale || item.beds_stale;
  const li = make("li", "bar" + (stale ? " stale" : ""));
  li.dataset.facility = item.id;
  li.dataset.stale = stale ? "1" : "0";
  const name = bilingual("span", "name", item.name, item.name_en);
  if (item.beds_stale) name.lastChild.replaceWith(make("span", "stale-note", `停更 · last updated ${hhmmss(item.beds_last_seen_at)}`));
  li.append(name);
  const track = make("div", "track");
  const fill = make("div", "fill");
  const occ = item.occupancy;
  if (isNum(occ)) {
    fill.style.width = `${(Math.min(occ, SCALE_MAX) / SCALE_MAX) * 100}%`;
    const [warn, high, over] = bands;
    fill.classList.add(occ >= over ? "over" : occ >= high ? "high" : occ >= warn ? "warn" : "ok");
  } else {
    fill.style.width = "0";
  }
  track.append(fill);
  bands.forEach((mark, i) => {
    const tick = make("span", "tick" + (i === bands.length - 1 ? " t100" : ""));
    tick.style.left = `${(mark / SCALE_MAX) * 100}%`;
    track.append(tick);
  });
  li.append(track);
  const value = make("div", "value");
  const pct = make("span", "num", fmtPct(occ));
  pct.dataset.k = `facility.${item.id}.occupancy`;
  pct.dataset.v = isNum(occ) ? String(occ) : "";
  const beds = make("span", "beds", `${fmtInt(item.beds_occupied)}/${fmtInt(item.beds_staffed)} 床`);
  beds.dataset.occupied = isNum(item.beds_occupied) ? String(item.beds_occupied) : "";
  beds.dataset.staffed = isNum(item.beds_staffed) ? String(item.beds_staffed) : "";
  if (isNum(item.escalation_level)) {
    const chip = make("span", `chip lvl-${item.escalation_level}`, `L${item.escalation_level}`);
    chip.dataset.k = `escalation.facility.${item.id}`;
    chip.dataset.v = String(item.escalation_level);
    beds.append(chip);
  }
  value.append(pct, beds);
  li.append(value);
  return li;
}

function renderFacilities(d, stale) {
  document.getElementById("facility-bars").replaceChildren(...d.items.map((item) => facilityBar(item, stale)));
}

function requestRow(row) {
  const li = make("li", `req ${row.status}`);
  Object.assign(li.dataset, {
    display: row.display, status: row.status, stage: row.stage, category: row.category,
    from: row.from_facility, to: row.to_facility, elapsed: String(row.elapsed_seconds),
  });
  const [zh, en] = CATEGORY[row.category] || [row.category, row.category];
  li.append(bilingual("span", "cat", zh, en));
  const route = make("span", "route");
  // The number first: it is what people read out on the phone; a long name may be cut instead.
  const from = make("span", "from");
  from.append(make("span", "no", row.display), row.from_name);
  route.append(from, make("span", "to", `→ ${row.to_name}`));
  li.append(route);
  li.append(make("span", "elapsed", elapsedText(row.elapsed_seconds)));
  const stages = make("div", "stages");
  STAGES.forEach((stage, i) => {
    stages.append(bilingual("span", "stage" + (i <= row.stage_index ? " done" : ""), STAGE[stage][0], STAGE[stage][1]));
  });
  li.append(stages);
  const minutes = row.clock ? Math.round(row.standard_seconds / 60) : null;
  li.append(row.clock
    ? bilingual("span", "std", `${CLOCK[row.clock][0]} ${minutes} 分`, `${CLOCK[row.clock][1]} ≤ ${minutes} min`)
    : bilingual("span", "std", "待交接", "handover"));
  return li;
}

function fitList(list, moreText) {
  // Drop rows that do not fit on the screen and say how many are hidden (never scroll a wall).
  const overflows = () => list.scrollHeight > list.clientHeight + 1;
  const rows = () => [...list.children].filter((child) => !child.classList.contains("more"));
  if (!overflows()) return;
  const more = make("li", "more");
  list.append(more);
  let hidden = 0;
  while (overflows() && rows().length > 0) {
    rows().at(-1).remove();
    hidden += 1;
  }
  more.textContent = moreText(hidden);
  more.dataset.hidden = String(hidden);
}

function renderRequests(d) {
  const list = document.getElementById("request-board");
  setK("requests.count", d.items.length, fmtInt(d.items.length));
  if (d.items.length === 0) {
    list.replaceChildren(bilingual("li", "empty", "当前无未完成申请", "No open requests"));
    return;
  }
  list.replaceChildren(...d.items.map(requestRow));
  fitList(list, (n) => `另有 ${n} 条 · ${n} more`);
}

function caseRow(row) {
  const li = make("li", `req case ${row.status}`);
  Object.assign(li.dataset, {
    display: row.display, status: row.status, category: row.category, center: row.center,
    interval: row.interval || "", elapsed: row.elapsed_seconds === null ? "" : String(row.elapsed_seconds),
  });
  const [zh, en] = CATEGORY[row.category] || [row.category, row.category];
  li.append(bilingual("span", "cat", zh, en));
  const who = make("span", "route");
  const center = make("span", "from");
  center.append(make("span", "no", row.display), row.center_name);
  const [izh, ien] = row.interval ? INTERVAL[row.interval] || [row.interval, row.interval] : ["待下一节点", "no clock running"];
  who.append(center, bilingual("span", "to", izh, ien));
  li.append(who);
  li.append(make("span", "elapsed", row.elapsed_seconds === null ? "—" : elapsedText(row.elapsed_seconds)));
  if (row.standard_seconds !== null) {
    const minutes = Math.round(row.standard_seconds / 60);
    li.append(bilingual("span", "std", `标准 ${minutes} 分`, `≤ ${minutes} min`));
  }
  return li;
}

function renderCases(d) {
  const list = document.getElementById("case-board");
  setK("cases.count", d.items.length, fmtInt(d.items.length));
  if (d.items.length === 0) {
    list.replaceChildren(bilingual("li", "empty", "当前无进行中病例", "No open cases"));
    return;
  }
  list.replaceChildren(...d.items.map(caseRow));
  fitList(list, (n) => `另有 ${n} 例 · ${n} more`);
}

function renderCenters(d) {
  // The window's compliance (30 days shipped) of each center's standards, worst first.
  const line = document.getElementById("center-compliance");
  const parts = d.items.slice(0, 3).map((item) => {
    const [izh] = INTERVAL[item.interval] || [item.interval];
    const below = isNum(item.target) && item.compliance < item.target;
    const span = make("span", below ? "red" : "ok", `${item.name} ${izh} ${fmtPct(item.compliance)}`);
    span.dataset.k = `centers.${item.facility}.${item.interval}.compliance`;
    span.dataset.v = String(item.compliance);
    if (isNum(item.target)) span.append(` / ${fmtPct(item.target)}`);
    if (item.breaches > 0) span.append(` · 超时 ${fmtInt(item.breaches)}`);
    return span;
  });
  line.replaceChildren(...(parts.length ? parts : [bilingual("span", "empty", "30 天内无完成病例", "No completed cases in 30 days")]));
}

function renderPrimaryCare(d) {
  // 基层诊疗量占比 against the policy's target (sent by the server); a share below it is red.
  const target = lastDoc.thresholds.primary_care_share_target;
  for (const k of ["today", "month"]) {
    setK(`primary_care.${k}`, d[k], fmtPct(d[k]));
    for (const node of document.querySelectorAll(`[data-k="primary_care.${k}"]`)) {
      node.classList.toggle("below", isNum(d[k]) && d[k] < target);
    }
  }
  const mark = document.getElementById("primary-target");
  mark.replaceChildren(`· 目标 ≥ ${fmtPct(target)}（医共体口径）`, make("span", "en", " target (alliance)"));
}

function renderReferrals(d) {
  for (const period of ["today", "month"]) {
    for (const [direction, count] of Object.entries(d[period])) setK(`referrals.${period}.${direction}`, count, fmtInt(count));
  }
  setK("referrals.pending_total", d.pending_total, fmtInt(d.pending_total));
  setK("referrals.expired_total", d.expired_total, fmtInt(d.expired_total));
  const list = document.getElementById("referral-pending");
  if (d.pending.length === 0) {
    list.replaceChildren(bilingual("li", "empty", "无待接收转诊", "No referral pending"));
    return;
  }
  list.replaceChildren(...d.pending.map((item) => {
    const li = make("li", item.expired > 0 ? "expired" : "");
    Object.assign(li.dataset, { facility: item.facility, ward: item.ward, pending: String(item.pending), expired: String(item.expired) });
    li.append(make("span", "who", `${item.name} ${item.ward_name || "未指定科室"}`));
    const counts = make("span", "counts", `待 ${fmtInt(item.pending)}` + (item.expired > 0 ? ` · 超时 ${fmtInt(item.expired)}` : ""));
    li.append(counts);
    const free = make("span", "free", isNum(item.free_beds) ? `空床 ${fmtInt(item.free_beds)}` : "空床 —");
    free.dataset.v = isNum(item.free_beds) ? String(item.free_beds) : "";
    if (isNum(item.free_beds) && item.free_beds < item.pending) free.classList.add("red");
    li.append(free);
    return li;
  }));
  fitList(list, (n) => `另有 ${n} 个科室 · ${n} more`);
}

function renderClocks(d) {
  for (const kind of ["overdue", "due_soon"]) {
    for (const stage of ["accepted", "arrived"]) setK(`request_clocks.${kind}.${stage}`, d[kind][stage], fmtInt(d[kind][stage]));
  }
}

function renderStaleFeeds(d) {
  setK("stale_feeds.count", d.items.length, fmtInt(d.items.length));
  const list = document.getElementById("stale-feeds");
  if (d.items.length === 0) {
    list.replaceChildren(bilingual("li", "empty", "全部数据源正常", "All feeds live"));
    return;
  }
  list.replaceChildren(...d.items.map((item) => {
    const li = make("li");
    Object.assign(li.dataset, { facility: item.facility, feed: item.feed });
    const [fzh, fen] = FEED[item.feed] || [item.feed, item.feed];
    li.append(bilingual("span", "who", `${item.name} ${fzh}`, fen));
    if (item.age_seconds === null) li.append(bilingual("span", "age", "从未收到数据", "never heard from"));
    else li.append(bilingual("span", "age", `${Math.round(item.age_seconds / 60)} 分钟未更新`, `last updated ${hhmmss(item.last_seen_at)}`));
    return li;
  }));
  fitList(list, (n) => `另有 ${n} 个 · ${n} more`);
}

function renderEscalation(d) {
  // Per-hospital levels ride on the facility bars; the alliance level is the header badge.
  const level = d.alliance;
  setK("escalation.alliance", level, isNum(level) ? LEVEL_WORDS[level] || String(level) : "—");
  const badge = document.querySelector(".level-badge");
  badge.className = "level-badge" + (isNum(level) ? ` lvl-${level}` : "");
}

const RENDERERS = {
  county: renderCounty, visits_today: renderVisits, ed: renderEd, facilities: renderFacilities,
  requests: renderRequests, request_clocks: renderClocks, stale_feeds: renderStaleFeeds, escalation: renderEscalation,
  cases: renderCases, centers: renderCenters, referrals: renderReferrals, primary_care: renderPrimaryCare,
};

function render(doc) {
  bands = doc.thresholds.occupancy;
  const marks = bands.map((b) => Math.round(b * 100)).join("/");
  const legend = document.getElementById("scale-legend");
  legend.replaceChildren(`白线 ${marks}%；L1–L4 升级级别 `, make("span", "en", `Lines ${marks} %; L1–L4 escalation`));
  document.getElementById("data-time").textContent = hhmmss(doc.generated_at);
  renderBanners(doc.banners);
  for (const [name, section] of Object.entries(doc.sections)) {
    markSection(name, section);
    if (section.data !== null && RENDERERS[name]) RENDERERS[name](section.data, section.stale);
  }
  const degraded = Object.values(doc.sections).some((s) => s.stale) || doc.banners.length > 0;
  document.body.dataset.state = degraded ? "degraded" : "ok";
}

function renderDown(why) {
  // The wall server itself is gone or stuck: everything on screen is as old as the last document.
  for (const [name, section] of Object.entries(lastDoc ? lastDoc.sections : {})) {
    markSection(name, { stale: true, updated_at: section.updated_at });
  }
  const since = lastDoc ? hhmmss(lastDoc.generated_at) : "--:--:--";
  renderBanners([{ what: "wall", zh: `墙屏服务无响应（${why.zh}），数据停留在 ${since}`, en: `Wall server not answering (${why.en}); data as of ${since}` }]);
  document.body.dataset.state = "down";
}

async function tick() {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
  try {
    const response = await fetch("/api/overview", { cache: "no-store", signal: controller.signal });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const doc = await response.json();
    if (doc.age_seconds > MAX_AGE_S) {
      lastDoc = doc;
      renderDown({ zh: `${Math.round(doc.age_seconds)} 秒未刷新`, en: `not refreshed for ${Math.round(doc.age_seconds)} s` });
    } else {
      lastDoc = doc;
      render(doc);
      if (updates === 0) performance.mark("wall-first-render");
    }
    updates += 1;
    document.body.dataset.updates = String(updates);
  } catch (error) {
    renderDown({ zh: String(error.message || error), en: String(error.message || error) });
  } finally {
    clearTimeout(timer);
    setTimeout(tick, REFRESH_MS);
  }
}

document.addEventListener("DOMContentLoaded", tick);

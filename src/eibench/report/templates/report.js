/* The sample browser. Sample text is data, never markup: it is read with JSON.parse and put
   into the page with textContent only. */
(function () {
  "use strict";

  const byId = (id) => document.getElementById(id);
  const data = JSON.parse(byId("samples").textContent);
  const samples = data.samples;
  const images = data.images;
  const cards = byId("cards");
  const more = byId("more");
  const page = Number(cards.dataset.page) || 200;
  const controls = {
    category: byId("f-category"),
    model: byId("f-model"),
    setting: byId("f-setting"),
    score: byId("f-score"),
    min: byId("f-min"),
    max: byId("f-max"),
    search: byId("f-search"),
  };
  const marks = { covered: "\u2713", missed: "\u2717", unjudged: "\u2013" };
  const meaning = { covered: "covered", missed: "missed", unjudged: "not marked" };

  const haystacks = samples.map((s) => {
    const parts = [s.question, s.answer || "", s.id, s.image, s.run, s.model, s.setting, s.status];
    for (const t of s.triggers) {
      parts.push(t.text, t.evidence || "");
    }
    return parts.join("\n").toLowerCase();
  });

  let matches = [];
  let shown = 0;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function percent(value) {
    return value === null || value === undefined ? "unscored" : Math.round(value * 100) + "%";
  }

  function bound(input, fallback) {
    const value = parseFloat(input.value);
    return Number.isFinite(value) ? value : fallback;
  }

  function keep(s, i, f) {
    if (f.category && s.category !== f.category) return false;
    if (f.model && s.model !== f.model) return false;
    if (f.setting && s.setting !== f.setting) return false;
    if (f.score === "unscored" && s.recall !== null) return false;
    if (f.score === "range") {
      if (s.recall === null) return false;
      const pct = s.recall * 100;
      if (pct < f.min - 1e-9 || pct > f.max + 1e-9) return false;
    }
    return f.terms.every((term) => haystacks[i].includes(term));
  }

  function stateOf(covered) {
    return covered === true ? "covered" : covered === false ? "missed" : "unjudged";
  }

  function judging(v) {
    return v.judge + " (" + v.protocol + ")";
  }

  function trigger(t) {
    const state = stateOf(t.covered);
    const item = el("li", state);
    const mark = el("span", "mark", marks[state]);
    mark.title = meaning[state];
    item.append(mark, el("span", "trigger", t.text));
    if (state === "covered" && t.evidence) {
      item.append(el("q", "evidence", t.evidence));
    }
    return item;
  }

  function key(s) {
    const text = marks.covered + " covered by the answer \u00b7 " + marks.missed + " missed \u00b7 "
      + marks.unjudged + " not marked";
    const lead = s.verdicts.length ? " (marks of " + judging(s.verdicts[0]) + ")" : "";
    return el("p", "key", text + lead);
  }

  function verdictRow(v) {
    const row = el("tr", "verdict");
    row.append(
      el("td", "v-judge", v.judge),
      el("td", "v-protocol", v.protocol),
      el("td", "v-recall", percent(v.recall)),
      el("td", "v-status", v.status),
    );
    const cell = el("td", "v-marks");
    if (v.covered === null || v.covered === undefined) {
      cell.append(el("span", "none", "no per-trigger marks"));
    } else {
      v.covered.forEach((covered, i) => {
        const state = stateOf(covered);
        const mark = el("span", "mark " + state, (i + 1) + marks[state]);
        mark.title = "trigger " + (i + 1) + ": " + meaning[state];
        cell.append(mark);
      });
    }
    row.append(cell);
    return row;
  }

  function verdicts(s) {
    const table = el("table", "verdicts");
    const head = el("tr");
    for (const name of ["Judge", "Protocol", "Recall", "Status", "Per-trigger marks"]) {
      const th = el("th", null, name);
      th.scope = "col";
      head.append(th);
    }
    const thead = el("thead");
    thead.append(head);
    const tbody = el("tbody");
    for (const v of s.verdicts) tbody.append(verdictRow(v));
    table.append(thead, tbody);
    return table;
  }

  function card(s) {
    const root = el("article", "card");
    root.dataset.category = s.category;

    const head = el("div", "card-head");
    const status = el("span", "status", s.status);
    status.dataset.status = s.status;
    head.append(
      el("span", "category", s.category),
      el("span", "model", s.model),
      el("span", "setting", s.setting),
      el("span", "run", s.run),
      status,
    );
    const recall = el("span", "recall", percent(s.recall));
    if (s.verdicts.length) recall.title = "recall by " + judging(s.verdicts[0]);
    head.append(recall);

    const body = el("div", "card-body");
    if (s.thumb !== null && images[s.thumb]) {
      const img = el("img", "thumb");
      img.alt = s.image;
      img.src = images[s.thumb];
      body.append(img);
    } else {
      body.append(el("div", "no-thumb", s.image));
    }

    const text = el("div", "card-text");
    const question = el("p", "question");
    question.append(el("span", "label", "Q"), el("span", "question-text", s.question));
    const answer = s.answer === null
      ? el("div", "answer missing", "(no answer)")
      : el("div", "answer", s.answer);
    const list = el("ol", "triggers");
    for (const t of s.triggers) list.append(trigger(t));
    text.append(
      question,
      el("h3", "part answer-label", "Answer"),
      answer,
      el("h3", "part triggers-label", "Ground-truth triggers"),
      key(s),
      list,
    );
    if (s.verdicts.length) {
      const n = s.verdicts.length;
      text.append(el("h3", "part verdicts-label", n === 1 ? "Verdict" : "Verdicts (" + n + ")"));
      text.append(verdicts(s));
    }
    text.append(el("p", "ids", s.id + " \u00b7 " + s.split + " \u00b7 " + s.image));
    body.append(text);
    root.append(head, body);
    return root;
  }

  function showMore() {
    const end = Math.min(shown + page, matches.length);
    const fragment = document.createDocumentFragment();
    for (let k = shown; k < end; k++) fragment.append(card(samples[matches[k]]));
    cards.append(fragment);
    shown = end;
    byId("shown-count").textContent = String(shown);
    more.hidden = shown >= matches.length;
    more.textContent = "Show more (" + (matches.length - shown) + " left)";
  }

  function apply() {
    const f = {
      category: controls.category.value,
      model: controls.model.value,
      setting: controls.setting.value,
      score: controls.score.value,
      min: bound(controls.min, 0),
      max: bound(controls.max, 100),
      terms: controls.search.value.toLowerCase().split(/\s+/).filter(Boolean),
    };
    matches = [];
    samples.forEach((s, i) => {
      if (keep(s, i, f)) matches.push(i);
    });
    byId("match-count").textContent = String(matches.length);
    cards.replaceChildren();
    shown = 0;
    showMore();
  }

  for (const name of ["category", "model", "setting", "score"]) {
    controls[name].addEventListener("change", apply);
  }
  for (const name of ["min", "max"]) {
    controls[name].addEventListener("input", () => {
      controls.score.value = "range";
      apply();
    });
  }
  controls.search.addEventListener("input", apply);
  more.addEventListener("click", showMore);
  byId("f-reset").addEventListener("click", () => {
    for (const name of ["category", "model", "setting", "search"]) controls[name].value = "";
    controls.score.value = "any";
    controls.min.value = "0";
    controls.max.value = "100";
    apply();
  });
  apply();
})();

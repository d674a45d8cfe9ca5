// 诊断: a text area for the situation; the user's own text shown back with the matched words highlighted,
// each linked to the pitfall it matched; each pitfall with why, advice (from the article or written by
// the curator), fixes and related principles. The situation lives in the hash (#/diagnose?s=…).

import { adviceSource, articleHref, h, principleLink, queryForm, setTitle, showResult, typeBadge, withCitations } from "./dom.js";
import { inputLimit } from "./api.js";
import { feedbackBar } from "./feedback.js";

export async function render(view, _args, params) {
  const situation = params.get("s") || "";
  setTitle("诊断");
  view.append(
    queryForm({
      route: "diagnose",
      param: "s",
      label: "社群现状",
      button: "诊断",
      value: situation,
      id: "situation",
      rows: 5,
      maxlength: await inputLimit("DiagnoseRequest", "situation"),
      placeholder: "描述你的社群现在的情况，例如：群里全是广告，没人说话，新人进来也不发言",
    }),
  );
  if (!situation) return;
  await showResult(view, "正在诊断…", "/diagnose", { situation }, diagnosis);
}

function diagnosis(r, labels) {
  if (!r.answered) {
    return [h("div", { class: "not-covered" }, h("h2", {}, "没有诊断出问题"), h("p", {}, r.message || "")), feedbackBar(r.request_id)];
  }
  const out = [];
  // issue 12: one line, 主要是三个问题：…, each problem cited [n]
  if (r.reading) out.push(h("div", { class: "brief" }, withCitations(r.reading, r.hits)));
  out.push(h("h3", {}, "你的描述"), h("p", { class: "situation" }, highlighted(r.situation, r.hits)));
  out.push(h("div", { class: "cards" }, r.hits.map((hit) => card(hit, labels))));
  out.push(feedbackBar(r.request_id));
  return out;
}

// the situation with each matched part marked, linked to the first (best ranked) hit that matched it
function highlighted(text, hits) {
  const owner = new Array(text.length).fill(null);
  for (const hit of hits) {
    for (const m of hit.matched) {
      for (let i = m.start; i < m.end && i < text.length; i++) if (owner[i] === null) owner[i] = hit;
    }
  }
  const out = [];
  let i = 0;
  while (i < text.length) {
    let j = i;
    while (j < text.length && owner[j] === owner[i]) j++;
    const hit = owner[i];
    const part = text.slice(i, j);
    out.push(
      hit
        ? h("a", { class: "match", href: `#/principle/${encodeURIComponent(hit.id)}`, title: hit.title, "data-hit": hit.id, onclick: jumpTo(hit.id) }, part)
        : part,
    );
    i = j;
  }
  return out;
}

function jumpTo(id) {
  return (e) => {
    e.preventDefault();
    const card = document.getElementById(`hit-${id}`);
    card.scrollIntoView({ behavior: "smooth", block: "start" });
    card.classList.add("flash");
    setTimeout(() => card.classList.remove("flash"), 1200);
  };
}

function links(title, items) {
  if (!items || !items.length) return null;
  return h("div", { class: "links" }, h("b", {}, title), h("ul", {}, items.map((p) => h("li", {}, principleLink(p)))));
}

function card(hit, labels) {
  return h(
    "article",
    { class: `card role-${hit.role}`, id: `hit-${hit.id}` },
    h("h3", {}, principleLink(hit), " ", typeBadge(hit.type, labels)),
    hit.matched.length ? h("p", { class: "matched" }, "你说的：", hit.matched.map((m) => h("mark", {}, m.text))) : null,
    h("p", { class: "why" }, h("b", {}, "为什么："), hit.why),
    h("p", {}, hit.summary),
    hit.missing ? h("p", { class: "missing" }, hit.missing) : null,
    h("p", { class: "advice" }, h("b", {}, "怎么办："), hit.advice, " ", adviceSource(hit)),
    links("解决办法", hit.fixes),
    links("相关原则", hit.related),
    h("a", { class: "open-article", href: articleHref(hit.source, hit.id) }, `原文：${hit.source.title} ›`),
  );
}

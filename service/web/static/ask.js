// 问答: a question box; the brief answer first, then the points with [n] citations, each opening the
// article at its span; an honest "not covered" with the closest topics. The question lives in the hash
// (#/ask?q=…), so going back from an article shows the answer again.

import { adviceSource, articleHref, h, principleLink, queryForm, setTitle, showResult, typeBadge, withCitations } from "./dom.js";
import { inputLimit } from "./api.js";
import { feedbackBar } from "./feedback.js";

export async function render(view, _args, params) {
  const question = params.get("q") || "";
  setTitle(question || "问答");
  view.append(
    queryForm({
      route: "ask",
      param: "q",
      label: "你的问题",
      button: "提问",
      value: question,
      enterSubmits: true,
      id: "question",
      rows: 2,
      maxlength: await inputLimit("AskRequest", "question"),
      placeholder: "例如：社群定位分哪几步？",
    }),
  );
  if (!question) return;
  await showResult(view, "正在查找答案…", "/ask", { question }, answer);
}

function answer(r, labels) {
  if (!r.answered) {
    return [
      h(
        "div",
        { class: "not-covered" },
        h("h2", {}, "知识库没有覆盖这个问题"),
        h("p", {}, r.answer),
        r.suggestions.length ? h("p", {}, "相近的话题：") : null,
        h("ul", {}, r.suggestions.map((s) => h("li", {}, principleLink(s), " ", typeBadge(s.type, labels)))),
      ),
      feedbackBar(r.request_id),
    ];
  }
  const out = [];
  // issue 12 adds a one-to-three-sentence `brief`; until then the whole answer stands in for it
  out.push(h("div", { class: "brief" }, withCitations(r.brief || r.answer, r.hits)));
  if (r.brief) {
    // issue 12's answer opens with the brief: show the rest (the list or the points, the notes) once
    const rest = r.answer.startsWith(r.brief) ? r.answer.slice(r.brief.length).trim() : r.answer;
    if (rest) out.push(h("div", { class: "answer" }, withCitations(rest, r.hits)));
  }
  if (r.coverage === "partial" && r.uncovered.length) {
    out.push(h("p", { class: "partial" }, "文章没有谈到：", r.uncovered.join("；")));
  }
  if (r.truncated && r.total) out.push(h("p", { class: "muted" }, `这个清单共有 ${r.total} 项，这里列出前 ${r.hits.length} 项。`));
  out.push(h("h3", {}, "出处"));
  out.push(h("ol", { class: "hits" }, r.hits.map((hit) => hitItem(hit, labels))));
  out.push(feedbackBar(r.request_id));
  return out;
}

export function hitItem(hit, labels) {
  return h(
    "li",
    { class: `hit role-${hit.role}`, id: `hit-${hit.id}` },
    h("div", { class: "hit-head" }, h("span", { class: "rank" }, `[${hit.rank}]`), " ", principleLink(hit), " ", typeBadge(hit.type, labels)),
    h("p", {}, hit.summary),
    hit.missing ? h("p", { class: "missing" }, hit.missing) : null,
    hit.advice ? h("p", { class: "advice" }, h("b", {}, "建议："), hit.advice, " ", adviceSource(hit)) : null,
    h(
      "blockquote",
      { class: "quote" },
      h("span", {}, hit.source.text),
      h("a", { class: "open-article", href: articleHref(hit.source, hit.id) }, `原文：${hit.source.title} ›`),
    ),
  );
}

// Small DOM helpers shared by the pages: building elements (text is always set as text, never as HTML),
// errors as a person reads them, links between pages, and citations [n] turned into links.
import { post, typeLabels } from "./api.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function errorBox(err) {
  return h("div", { class: "error", role: "alert" }, err.message || String(err));
}

export function loading(what = "加载中…") {
  return h("p", { class: "muted loading" }, what);
}

// where the article page opens a citation: offsets when there are any, else the principle's own span
export function articleHref(source, principleId) {
  const params = new URLSearchParams();
  if (principleId) params.set("p", principleId);
  if (source && source.start !== undefined && source.start !== null) {
    params.set("start", source.start);
    params.set("end", source.end);
  }
  return `#/article/${encodeURIComponent(source.doc)}?${params}`;
}

export function principleLink(p) {
  return h("a", { href: `#/principle/${encodeURIComponent(p.id)}` }, p.title);
}

// "…要先梳理业务[1]" -> text with [1] a link to hits[0]'s span in its article
export function withCitations(text, hits) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(/\[(\d+)\]/g)) {
    const hit = hits[Number(m[1]) - 1];
    if (!hit) continue;
    out.push(text.slice(last, m.index));
    out.push(h("a", { class: "cite", href: articleHref(hit.source, hit.id), title: hit.title }, m[0]));
    last = m.index + m[0].length;
  }
  out.push(text.slice(last));
  return out;
}

export function typeBadge(type, labels) {
  return h("span", { class: `badge type-${type}` }, (labels && labels[type]) || type);
}

export function setTitle(text) {
  document.title = text ? `${text} · 社群运营知识库` : "社群运营知识库";
}

// issue 12: whether advice is the article's own words (linked to where it says so) or the curator's
export function adviceSource(item) {
  if (item.advice_source === "curator") return h("span", { class: "badge curator" }, "整理者建议");
  if (item.advice_source === "article") {
    const badge = h("span", { class: "badge article" }, "原文建议");
    return item.advice_citation ? h("a", { href: articleHref(item.advice_citation, null) }, badge) : badge;
  }
  return null;
}

// a result section for one query: progress while it runs, then what `render` makes of the API's answer
// (with the type labels), or the error as a person reads it
export async function showResult(view, waiting, path, body, render) {
  const result = h("section", { class: "result" }, loading(waiting));
  view.append(result);
  try {
    const [r, labels] = await Promise.all([post(path, body), typeLabels()]);
    result.replaceChildren(...render(r, labels));
  } catch (err) {
    result.replaceChildren(errorBox(err));
  }
}

// the text box of a query page: submitting puts the text into the page address (`route`?`param`=…),
// so going back from an article shows the result again; with `enterSubmits`, Enter submits (Shift+Enter
// breaks the line), though not while an input method is composing Chinese, where Enter picks characters
export function queryForm({ route, param, label, button, value, enterSubmits = false, ...attrs }) {
  const input = h("textarea", { required: true, ...attrs });
  input.value = value;
  const form = h(
    "form",
    {
      class: "query",
      onsubmit: (e) => {
        e.preventDefault();
        location.hash = `#/${route}?${param}=${encodeURIComponent(input.value.trim())}`;
      },
    },
    h("label", { for: attrs.id }, label),
    input,
    h("button", { type: "submit" }, button),
  );
  if (enterSubmits) {
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
  }
  return form;
}

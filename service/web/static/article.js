// 原文: the whole article, clean text by default and raw on a toggle, the cited span highlighted and
// scrolled into view, the other principles' spans outlined, junk greyed out. The server cuts the article
// into segments at every span's edges (GET /documents/{doc}/view); this page only draws them.

import { get } from "./api.js";
import { h, loading, setTitle } from "./dom.js";

export async function render(view, args, params) {
  const docs = await get("/documents");
  const chooser = h(
    "div",
    { class: "filters" },
    h(
      "select",
      { id: "article-select", onchange: (e) => (location.hash = `#/article/${e.target.value}`) },
      args[0] ? null : h("option", { value: "" }, "选择文章"),
      docs.documents.map((d) => h("option", { value: d.id, selected: d.id === args[0] || d.doc === args[0] }, `${d.id} ${d.title}`)),
    ),
  );
  view.append(chooser);
  if (!args[0]) return;
  const body = h("section", {}, loading());
  view.append(body);
  const a = await get(`/documents/${encodeURIComponent(args[0])}/view`);
  setTitle(a.title);
  const titles = Object.fromEntries(a.cited.map((p) => [p.id, p.title]));
  const focus = params.get("p");
  const start = params.has("start") ? Number(params.get("start")) : null;
  const end = params.has("end") ? Number(params.get("end")) : null;
  // the cited span: exact offsets when the link has them (any citation), else the principle's span
  const isCited = (s) => (start !== null ? s.start < end && start < s.end : focus !== null && s.principles.includes(focus));
  const segs = a.segments.map((s) => {
    const classes = ["seg"];
    if (s.junk) classes.push("junk");
    if (s.principles.length) classes.push("span");
    if (isCited(s)) classes.push("cited");
    const el = h("span", { class: classes.join(" "), "data-start": s.start, "data-end": s.end, title: s.principles.map((i) => titles[i]).join("；") || null }, s.text);
    if (s.principles.length) {
      el.addEventListener("click", () => (location.hash = `#/principle/${encodeURIComponent(s.principles[0])}`));
    }
    return { el, s };
  });
  const text = h("div", { class: "article-text clean", id: "article-text" }, segs.map((x) => x.el));
  const toggle = h("input", {
    type: "checkbox",
    id: "raw-toggle",
    onchange: (e) => {
      for (const { el, s } of segs) el.textContent = e.target.checked ? s.raw : s.text;
      text.classList.toggle("clean", !e.target.checked);
      // the raw text is longer (pinyin, traditional forms): keep the cited span where the reader is
      const cited = text.querySelector(".cited");
      if (cited) cited.scrollIntoView({ block: "center" });
    },
  });
  body.replaceChildren(
    h("h2", {}, a.title),
    h(
      "p",
      { class: "legend" },
      h("label", {}, toggle, " 显示原始文本"),
      " ",
      h("span", { class: "seg cited" }, "引用处"),
      " ",
      h("span", { class: "seg span" }, "其他原则"),
      " ",
      h("span", { class: "seg junk" }, "无关内容"),
    ),
    text,
  );
  const first = text.querySelector(".cited");
  if (first) first.scrollIntoView({ block: "center" });
}

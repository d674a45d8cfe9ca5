// 浏览: principles by type, by article and by list (a list's members in the article's order), and one
// principle's page with everything the API has for it. Filters live in the hash (#/browse?doc=000).

import { get, typeLabels } from "./api.js";
import { adviceSource, articleHref, h, loading, principleLink, setTitle, typeBadge } from "./dom.js";

export async function renderBrowse(view, _args, params) {
  setTitle("浏览");
  const [labels, docs, groups] = await Promise.all([typeLabels(), get("/documents"), get("/groups")]);
  const filters = { type: params.get("type") || "", doc: params.get("doc") || "", group: params.get("group") || "" };
  const go = (change) => {
    const next = new URLSearchParams(Object.entries({ ...filters, ...change }).filter(([, v]) => v));
    location.hash = `#/browse?${next}`;
  };
  // choosing a type or an article leaves the list chosen before; choosing a list is its own filter
  const select = (name, all, options) =>
    h(
      "select",
      { id: `filter-${name}`, onchange: (e) => go(name === "group" ? { group: e.target.value, type: "", doc: "" } : { [name]: e.target.value, group: "" }) },
      h("option", { value: "" }, all),
      options.map(([value, text]) => h("option", { value, selected: value === filters[name] }, text)),
    );
  view.append(
    h(
      "div",
      { class: "filters" },
      select("type", "全部类型", Object.entries(labels)),
      select("doc", "全部文章", docs.documents.map((d) => [d.id, `${d.id} ${d.title}`])),
      select("group", "全部清单", groups.groups.map((g) => [g.id, g.title])),
    ),
  );
  const list = h("section", { class: "browse" }, loading());
  view.append(list);
  const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
  query.set("limit", "500");
  const r = await get(`/principles?${query}`);
  const byGroup = Object.fromEntries(groups.groups.map((g) => [g.id, g]));
  list.replaceChildren(...sections(r.principles, byGroup, labels, filters.group));
}

// each list (group) present as an ordered list of its members, then everything outside lists
function sections(principles, byGroup, labels, onlyGroup) {
  const out = [];
  const grouped = new Map();
  const loose = [];
  for (const p of principles) {
    if (p.group) {
      if (!grouped.has(p.group)) grouped.set(p.group, []);
      grouped.get(p.group).push(p);
    } else loose.push(p);
  }
  if (!principles.length) out.push(h("p", { class: "muted" }, "没有符合条件的原则。"));
  for (const [id, members] of grouped) {
    const g = byGroup[id] || { id, title: id, ordered: true, size: members.length };
    members.sort((a, b) => a.order - b.order);
    const items = members.map((p) => h("li", { value: p.order }, principleLink(p), " ", typeBadge(p.type, labels)));
    out.push(
      h(
        "section",
        { class: "group", id: `group-${id}` },
        h("h3", {}, onlyGroup ? g.title : h("a", { href: `#/browse?group=${encodeURIComponent(id)}` }, g.title),
          h("span", { class: "muted" }, ` ${g.ordered ? "步骤" : "清单"} · ${g.size ?? members.length} 项`)),
        g.missing ? h("p", { class: "missing" }, g.missing) : null,
        h(g.ordered ? "ol" : "ul", { class: "members" }, items),
      ),
    );
  }
  if (loose.length) {
    out.push(
      h(
        "section",
        { class: "group" },
        grouped.size ? h("h3", {}, "其他原则") : null,
        h("ul", { class: "members" }, loose.map((p) => h("li", {}, principleLink(p), " ", typeBadge(p.type, labels)))),
      ),
    );
  }
  return out;
}

export async function renderPrinciple(view, args) {
  const id = args[0];
  view.append(loading());
  const [p, labels] = await Promise.all([get(`/principles/${encodeURIComponent(id)}`), typeLabels()]);
  // the cited span as a person reads it: the readable text of the segments the article view gives it
  const article = await get(`/documents/${encodeURIComponent(p.source.doc)}/view`);
  const quote = article.segments.filter((s) => s.principles.includes(p.id)).map((s) => s.text).join("");
  setTitle(p.title);
  const row = (title, value) => (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length) ? null : h("div", { class: "row" }, h("dt", {}, title), h("dd", {}, value)));
  const items = (xs) => h("ul", {}, xs.map((x) => h("li", {}, x)));
  const linked = async (ids) => {
    const found = await Promise.all(ids.map((i) => get(`/principles/${encodeURIComponent(i)}`).catch(() => ({ id: i, title: i }))));
    return h("ul", {}, found.map((q) => h("li", {}, principleLink(q))));
  };
  const [related, fixes] = await Promise.all([linked(p.related), linked(p.fixed_by)]);
  view.replaceChildren(
    h(
      "article",
      { class: "principle" },
      h("h2", {}, p.title, " ", typeBadge(p.type, labels)),
      h("p", { class: "summary" }, p.summary),
      p.missing ? h("p", { class: "missing" }, p.missing) : null,
      h(
        "dl",
        {},
        row("建议", p.advice ? [p.advice, " ", adviceSource(p)] : null),
        row("症状", p.symptoms.length ? items(p.symptoms) : null),
        row("常见说法", p.phrasings && p.phrasings.length ? items(p.phrasings) : null),
        row("能回答的问题", p.questions.length ? items(p.questions) : null),
        row("关键词", p.keywords.join("、")),
        row("所在清单", p.group ? h("a", { href: `#/browse?group=${encodeURIComponent(p.group)}` }, `第 ${p.order} 项`) : null),
        row("解决办法", p.fixed_by.length ? fixes : null),
        row("相关原则", p.related.length ? related : null),
        row("编号", p.id),
      ),
      h(
        "blockquote",
        { class: "quote" },
        h("span", {}, quote || p.source.quote),
        h("a", { class: "open-article", href: articleHref(p.source, p.id) }, `原文：${p.source.title} ›`),
      ),
    ),
  );
}

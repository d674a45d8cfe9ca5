// 问题记录 (admin key): what users asked and the knowledge base missed, grouped by meaning, newest first;
// disliked answers by the principle they led with; hits per principle; the gaps recorded. From a missed
// question, one click each: add it as a phrasing of a principle, label it in or out of scope, record it as
// a gap. They change corpus files and the gap list; what is served changes only after a rebuild.

import { get, getText, post } from "./api.js";
import { errorBox, h, loading, setTitle } from "./dom.js";

const FILTERS = ["since", "operation", "surface", "key_name"];

export async function render(view, _args, params) {
  setTitle("问题记录");
  const query = new URLSearchParams();
  for (const name of FILTERS) if (params.get(name)) query.set(name, params.get(name));
  view.append(h("h2", {}, "问题记录"), filterForm(params), exportButtons(query));
  const sections = [
    ["未答上或把握不大的问题", `/admin/log/misses?${query}`, misses],
    ["被点踩的回答", `/admin/log/disliked?${query}`, disliked],
    ["原则命中", `/admin/log/hits?${query}&limit=20`, hits],
    ["缺口（没有文章覆盖的话题）", "/admin/log/gaps", gaps],
  ];
  for (const [title, path, draw] of sections) {
    const box = h("section", { class: "log-section" }, h("h3", {}, title), loading());
    view.append(box);
    try {
      const r = await get(path);
      box.replaceChildren(h("h3", {}, title), ...draw(r));
    } catch (err) {
      box.replaceChildren(h("h3", {}, title), errorBox(err));
    }
  }
}

function filterForm(params) {
  const field = (name, el) => {
    el.name = name;
    el.value = params.get(name) || "";
    return el;
  };
  const choice = (name, values) => field(name, h("select", {}, h("option", { value: "" }, "全部"), values.map((v) => h("option", { value: v }, v))));
  return h(
    "form",
    {
      class: "log-filters",
      onsubmit: (e) => {
        e.preventDefault();
        const q = new URLSearchParams();
        for (const el of e.target.elements) if (el.name && el.value) q.set(el.name, el.value);
        location.hash = `#/log?${q}`;
      },
    },
    h("label", {}, "从 ", field("since", h("input", { type: "date" }))),
    h("label", {}, "操作 ", choice("operation", ["search", "ask", "diagnose"])),
    h("label", {}, "入口 ", choice("surface", ["http", "mcp", "cli", "tools"])),
    h("label", {}, "密钥名 ", field("key_name", h("input", { size: 8 }))),
    h("button", { type: "submit" }, "筛选"),
  );
}

function exportButtons(query) {
  const download = async (format) => {
    const text = await getText(`/admin/log/export?${query}&format=${format}`);
    const a = h("a", { href: URL.createObjectURL(new Blob([text], { type: "text/plain" })), download: `kb-log.${format}` });
    a.click();
    URL.revokeObjectURL(a.href);
  };
  return h(
    "p",
    { class: "log-export" },
    "导出：",
    h("button", { type: "button", onclick: () => download("jsonl") }, "JSONL"),
    " ",
    h("button", { type: "button", onclick: () => download("csv") }, "CSV"),
  );
}

function misses(r) {
  if (!r.clusters.length) return [h("p", { class: "muted" }, "没有没答上的问题。")];
  return [
    h("p", { class: "muted" }, `${r.events} 个问题，归成 ${r.clusters.length} 簇`),
    h("ol", { class: "clusters" }, r.clusters.map(cluster)),
  ];
}

function cluster(c) {
  const rid = c.request_ids[0];
  const message = h("div", { class: "message" });
  const act = async (path, body, done) => {
    try {
      const r = await post(path, { request_id: rid, ...body });
      message.replaceChildren(done(r));
    } catch (err) {
      message.replaceChildren(errorBox(err));
    }
  };
  const picker = h("div", { class: "phrasing-picker", hidden: true });
  const search = h("input", { type: "search", class: "principle-search", placeholder: "搜要加说法的原则" });
  const found = h("ul", { class: "found" });
  search.addEventListener("change", async () => {
    const q = search.value.trim();
    if (!q) return;
    const r = await post("/search", { query: q, k: 5 });
    found.replaceChildren(
      ...r.hits.map((hit) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "pick",
              "data-id": hit.id,
              onclick: () => act("/admin/log/phrasings", { principle_id: hit.id }, (x) => `${x.added ? "已加入" : "已有这条说法"} ${x.file}：${hit.title}（重建索引后生效）`),
            },
            "加为说法",
          ),
          " ",
          hit.title,
        ),
      ),
    );
  });
  picker.append(search, found);
  return h(
    "li",
    { class: "cluster", "data-request-id": rid },
    h("div", {}, h("span", { class: "badge count" }, `${c.count} 次`), " ", h("span", { class: "muted" }, `${c.last_at.slice(0, 16).replace("T", " ")} · ${c.operations.join("/")}`)),
    h("ul", { class: "texts" }, c.texts.map((t) => h("li", {}, t))),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "to-phrasing", onclick: () => (picker.hidden = !picker.hidden) }, "加为某条原则的说法"),
      h("button", { type: "button", class: "in-scope", onclick: () => act("/admin/log/scope", { in_scope: true }, () => "已标为该答（重建后生效）") }, "该答"),
      h("button", { type: "button", class: "out-of-scope", onclick: () => act("/admin/log/scope", { in_scope: false }, () => "已标为不该答（重建后生效）") }, "不该答"),
      h("button", { type: "button", class: "to-gap", onclick: () => act("/admin/log/gaps", {}, (g) => `已记为缺口 #${g.id}`) }, "记为缺口"),
    ),
    picker,
    message,
  );
}

function disliked(r) {
  if (!r.principles.length) return [h("p", { class: "muted" }, "没有被点踩的回答。")];
  return [
    h(
      "ul",
      { class: "disliked" },
      r.principles.map((d) =>
        h(
          "li",
          {},
          h("a", { href: `#/principle/${encodeURIComponent(d.principle_id)}` }, d.title),
          ` 👎${d.downs} 👍${d.ups}`,
          Object.keys(d.wanted).length ? h("div", { class: "muted" }, "应为：", Object.entries(d.wanted).map(([id, n]) => `${id}×${n}`).join("，")) : null,
          h("ul", {}, d.questions.map((q) => h("li", {}, q))),
        ),
      ),
    ),
  ];
}

function hits(r) {
  if (!r.principles.length) return [h("p", { class: "muted" }, "还没有记录。")];
  return [
    h(
      "table",
      { class: "hits-table" },
      h("tr", {}, h("th", {}, "进入前三"), h("th", {}, "排第一"), h("th", {}, "原则"), h("th", {}, "最近的问题")),
      r.principles.map((p) =>
        h("tr", {}, h("td", {}, p.hits), h("td", {}, p.first), h("td", {}, h("a", { href: `#/principle/${encodeURIComponent(p.principle_id)}` }, p.title)), h("td", {}, p.questions.slice(0, 2).join("；"))),
      ),
    ),
  ];
}

function gaps(r) {
  if (!r.gaps.length) return [h("p", { class: "muted" }, "还没有记下缺口。")];
  return [h("ul", { class: "gaps" }, r.gaps.map((g) => h("li", {}, `#${g.id} ${g.text}`, g.note ? h("span", { class: "muted" }, `（${g.note}）`) : null)))];
}

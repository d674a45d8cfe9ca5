// 审阅 (admin key): drafts written by `kb add`; each draft principle with its span highlighted in the
// article, machine-written and low-confidence fields flagged, type/title/summary/boundaries editable,
// and accept, whose build shows its progress. Everything is the API's: this page only draws and sends.

import { ApiError, get, patch, post, typeLabels } from "./api.js";
import { errorBox, h, loading, setTitle } from "./dom.js";

export async function render(view, args) {
  setTitle("审阅");
  if (args[0]) return draft(view, args[0]);
  view.append(h("h2", {}, "待审阅的草稿"));
  view.append(h("p", { class: "muted" }, "草稿在接受之前不会发布：问答、诊断、浏览和原文页都看不到它。"));
  const r = await get("/admin/drafts");
  view.append(uploadForm());
  // beside the drafts, what users asked that no article covers (recorded from 问题记录)
  const gaps = h("section", { class: "gaps-beside" });
  get("/admin/log/gaps")
    .then((g) => {
      if (!g.gaps.length) return;
      gaps.append(
        h("h3", {}, "缺口：用户问到、还没有文章覆盖的话题"),
        h("ul", { class: "gaps" }, g.gaps.map((x) => h("li", {}, x.text, x.note ? h("span", { class: "muted" }, `（${x.note}）`) : null))),
      );
    })
    .catch(() => {}); // the query log is off: no gaps to show
  if (!r.drafts.length) {
    view.append(h("p", { class: "muted" }, "没有待审阅的草稿。上传一篇文章（或在终端运行 kb add 文章.docx）来起草。"), gaps);
    return;
  }
  view.append(
    h(
      "ul",
      { class: "drafts" },
      r.drafts.map((d) =>
        h(
          "li",
          {},
          h("a", { href: `#/review/${encodeURIComponent(d.article)}`, class: "draft-link" }, d.article),
          h("span", { class: "badge pending" }, d.status === "publishing" ? "发布中" : "未发布"),
          h("span", { class: "muted" }, ` ${d.title ? `《${d.title}》` : ""}${d.principles} 条原则，${d.open_items} 条未核对${d.edited ? "，已修改" : ""}`),
          d.problem ? h("div", { class: "error" }, d.problem) : null,
        ),
      ),
    ),
    gaps,
  );
}

// adding an article: the file goes as it is (multipart); the server extracts its text, keeps the
// original and drafts it (POST /admin/articles)
const ACCEPT = ".txt,.md,.markdown,.html,.htm,.docx,.pdf,text/plain,text/markdown,text/html,application/pdf";
function uploadForm() {
  const file = h("input", { type: "file", id: "upload-file", accept: ACCEPT, required: true });
  const title = h("input", { id: "upload-title", placeholder: "标题（可不填，默认取文件里的标题或第一行）", maxlength: 120 });
  const force = h("input", { type: "checkbox", id: "upload-force" });
  const message = h("div", { class: "message" });
  const submit = async (e) => {
    e.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    message.replaceChildren(loading("正在起草…（识别结构、类型和引文，需要几秒钟）"));
    try {
      const body = new FormData();
      body.append("file", chosen, chosen.name);
      body.append("force", force.checked ? "true" : "false");
      if (title.value.trim()) body.append("title", title.value.trim());
      const summary = await post("/admin/articles", body);
      location.hash = `#/review/${encodeURIComponent(summary.article)}`;
    } catch (err) {
      message.replaceChildren(errorBox(err));
    }
  };
  return h(
    "form",
    { class: "card upload", id: "upload", onsubmit: submit },
    h("b", {}, "添加文章"),
    h("label", {}, "文章（.txt、.md、网页 .html（含公众号文章）、Word .docx 或 PDF）", file),
    title,
    h("label", {}, force, " 与已有文章相似但确是另一篇时，仍然添加"),
    h("button", { type: "submit" }, "上传并起草"),
    message,
  );
}

async function draft(view, article) {
  view.append(loading());
  const [d, labels] = await Promise.all([get(`/admin/drafts/${encodeURIComponent(article)}`), typeLabels()]);
  setTitle(`审阅 ${d.article}`);
  const state = { d, focus: d.principles[0] ? d.principles[0].id : null };
  const text = h("div", { class: "article-text clean", id: "draft-text" });
  const list = h("div", { class: "draft-principles" });
  const status = h("div", { class: "job", id: "job" });
  const acceptButton = h("button", { id: "accept", onclick: () => accept(d.article, status, acceptButton) }, "接受并发布");

  const drawText = () => {
    text.replaceChildren(
      ...state.d.segments.map((s) => {
        const classes = ["seg"];
        if (s.junk) classes.push("junk");
        if (s.principles.length) classes.push("span");
        if (s.principles.includes(state.focus)) classes.push("cited");
        const el = h("span", { class: classes.join(" "), "data-start": s.start }, s.text);
        if (s.principles.length) el.addEventListener("click", () => select(s.principles[0]));
        return el;
      }),
    );
  };
  const drawList = () => list.replaceChildren(...state.d.principles.map((p) => card(p)));
  const select = (id, scroll = true) => {
    state.focus = id;
    drawText();
    for (const c of list.children) c.classList.toggle("selected", c.dataset.id === id);
    const first = text.querySelector(".cited");
    if (scroll && first) first.scrollIntoView({ block: "center" });
  };

  const card = (p) => {
    const flag = (field) => (p.generated.includes(field) ? h("span", { class: "badge generated", title: "机器生成，尚未核对" }, "待核对") : null);
    const typeSelect = h(
      "select",
      { name: "type" },
      Object.entries(labels).map(([name, label]) => {
        const choice = p.type_choices.find(([t]) => t === name);
        return h("option", { value: name, selected: name === p.type }, choice ? `${label}（${Math.round(choice[1] * 100)}%）` : label);
      }),
    );
    const title = h("input", { name: "title", value: p.title, maxlength: 60 });
    const summary = h("textarea", { name: "summary", rows: 3, maxlength: 400 }, p.summary);
    const from = h("input", { name: "from", value: p.quote_from });
    const to = h("input", { name: "to", value: p.quote_to || "" });
    const message = h("div", { class: "message" });
    const save = async (e) => {
      e.preventDefault();
      const form = e.currentTarget;
      const change = {};
      if (typeSelect.value !== p.type) change.type = typeSelect.value;
      if (title.value !== p.title) change.title = title.value;
      if (summary.value !== p.summary) change.summary = summary.value;
      if (from.value !== p.quote_from || to.value !== (p.quote_to || "")) {
        change.source = to.value ? { from: from.value, to: to.value } : { from: from.value };
      }
      if (!Object.keys(change).length) {
        message.replaceChildren(h("span", { class: "muted" }, "没有改动。"));
        return;
      }
      message.replaceChildren(loading("保存中…"));
      try {
        state.d = await patch(`/admin/drafts/${encodeURIComponent(state.d.article)}/principles/${encodeURIComponent(p.id)}`, change);
        // only this card is redrawn: what the reviewer is typing in the others stays
        const fresh = card(state.d.principles.find((x) => x.id === p.id));
        form.replaceWith(fresh);
        select(p.id, false);
        fresh.querySelector(".message").replaceChildren(h("span", { class: "ok" }, "已保存"));
      } catch (err) {
        message.replaceChildren(errorBox(err));
      }
    };
    return h(
      "form",
      { class: `card draft-principle${p.id === state.focus ? " selected" : ""}`, "data-id": p.id, onsubmit: save, onfocusin: () => state.focus !== p.id && select(p.id) },
      h(
        "div",
        { class: "hit-head" },
        h("b", {}, p.id),
        p.group ? h("span", { class: "muted" }, ` ${p.group} 第 ${p.order} 项`) : null,
        p.low_confidence ? h("span", { class: "badge low" }, "把握不大") : null,
        h("button", { type: "button", class: "link", onclick: () => select(p.id) }, "在文中定位"),
      ),
      p.problem ? h("div", { class: "error" }, p.problem) : null,
      h("label", {}, "类型 ", flag("type"), typeSelect),
      h("label", {}, "标题 ", flag("title"), title),
      h("label", {}, "摘要 ", flag("summary"), summary),
      h("div", { class: "quotes" }, h("label", {}, "起始引文 ", flag("source"), from), h("label", {}, "结束引文", to)),
      p.boundary_confidence !== null ? h("p", { class: "muted" }, `边界把握 ${Math.round(p.boundary_confidence * 100)}%`) : null,
      ["advice", "symptoms", "questions", "keywords"].some((f) => p.generated.includes(f))
        ? h("p", { class: "muted" }, "另有机器生成的字段待在 YAML 中核对：", ["advice", "symptoms", "questions", "keywords"].filter((f) => p.generated.includes(f)).join("、"))
        : null,
      h("button", { type: "submit" }, "保存"),
      message,
    );
  };

  drawText();
  drawList();
  view.replaceChildren(
    h("h2", {}, d.title, " ", h("span", { class: "muted" }, d.article), " ", h("span", { class: "badge pending" }, "未发布")),
    h("div", { class: "toolbar" }, acceptButton, status),
    h("div", { class: "review" }, h("div", { class: "review-text" }, text), list),
  );
  select(state.focus);
}

// accepting publishes the draft and rebuilds the index: a job whose steps are polled until it ends
async function accept(article, status, button) {
  button.disabled = true;
  status.replaceChildren(h("span", { class: "progress" }, "提交中…"));
  await follow(() => post(`/admin/drafts/${encodeURIComponent(article)}/accept`), status, button);
}

// a job is polled until it ends; one that failed or was interrupted (its process died) offers a retry
async function follow(start, status, button) {
  try {
    let job = await start();
    while (job.state === "queued" || job.state === "running" || job.state === "built") {
      status.replaceChildren(h("span", { class: "progress" }, job.state === "queued" ? "排队中…" : `${job.step || "处理中"}…`));
      await new Promise((resolve) => setTimeout(resolve, 500));
      job = await get(`/admin/jobs/${encodeURIComponent(job.id)}`);
    }
    if (job.state === "done") {
      status.replaceChildren(
        h("span", { class: "ok", id: "accepted" }, `已发布：${job.index.principles} 条原则在线。`),
        " ",
        h("a", { href: `#/browse?doc=${encodeURIComponent(job.article.split("_")[0])}` }, "去浏览 ›"),
      );
    } else {
      const again = h("button", { id: "retry", type: "button" }, "重试");
      again.addEventListener("click", () => {
        status.replaceChildren(h("span", { class: "progress" }, "重试中…"));
        follow(() => post(`/admin/jobs/${encodeURIComponent(job.id)}/retry`), status, button);
      });
      const what = job.state === "interrupted" ? "发布中断" : "发布失败";
      status.replaceChildren(errorBox(new ApiError(500, job.state, `${what}：${job.message}`)), " ", again);
    }
  } catch (err) {
    status.replaceChildren(errorBox(err));
    button.disabled = false;
  }
}

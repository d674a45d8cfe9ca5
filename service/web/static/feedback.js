// 👍/👎 under an answer or a diagnosis: one click rates the response by its request id (POST /feedback);
// 👎 then offers a reason, a search box to pick the principle that should have come, and a comment,
// sent as a second rating of the same response (the server keeps the latest).

import { post } from "./api.js";
import { errorBox, h } from "./dom.js";

const REASONS = [
  ["wrong", "答错了"],
  ["incomplete", "不完整"],
  ["not_covered", "知识库没有这方面内容"],
  ["other", "其他"],
];

export function feedbackBar(requestId) {
  if (!requestId) return null;
  const status = h("span", { class: "feedback-status", role: "status" });
  const details = h("div", { class: "feedback-details", hidden: true });
  const picked = new Map(); // principle id -> title

  async function send(rating, extra = {}) {
    try {
      await post("/feedback", { request_id: requestId, rating, ...extra });
      status.replaceChildren(rating === "up" ? "谢谢，已记录：有帮助" : "谢谢，已记录：没帮助");
      return true;
    } catch (err) {
      status.replaceChildren(errorBox(err));
      return false;
    }
  }

  const reason = h("select", { name: "reason" }, REASONS.map(([v, label]) => h("option", { value: v }, label)));
  const comment = h("input", { name: "comment", maxlength: 1000, placeholder: "补充说明（可不填）" });
  const chosen = h("ul", { class: "feedback-picked" });
  const found = h("ul", { class: "feedback-found" });
  const search = h("input", { name: "principle-search", type: "search", placeholder: "搜一条应该出现的原则" });
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    const q = search.value.trim();
    if (!q) return found.replaceChildren();
    timer = setTimeout(async () => {
      try {
        const r = await post("/search", { query: q, k: 5 });
        found.replaceChildren(
          ...r.hits.map((hit) =>
            h("li", {}, h("button", { type: "button", class: "pick", "data-id": hit.id, onclick: () => pick(hit) }, "＋"), " ", hit.title),
          ),
        );
      } catch (err) {
        found.replaceChildren(errorBox(err));
      }
    }, 250);
  });

  function pick(hit) {
    picked.set(hit.id, hit.title);
    chosen.replaceChildren(...[...picked].map(([id, title]) => h("li", { "data-id": id }, title)));
  }

  const form = h(
    "form",
    {
      class: "feedback-form",
      onsubmit: async (e) => {
        e.preventDefault();
        const body = { reason: reason.value, principle_ids: [...picked.keys()] };
        if (comment.value.trim()) body.comment = comment.value.trim();
        if (await send("down", body)) details.hidden = true;
      },
    },
    h("label", {}, "原因 ", reason),
    h("label", {}, "应该出现的原则 ", search),
    found,
    chosen,
    comment,
    h("button", { type: "submit", class: "feedback-send" }, "提交"),
  );
  details.append(form);

  return h(
    "div",
    { class: "feedback", "data-request-id": requestId },
    h("span", { class: "muted" }, "这个回答有帮助吗？"),
    h("button", { type: "button", class: "thumb up", title: "有帮助", onclick: () => send("up") }, "👍 有帮助"),
    h(
      "button",
      {
        type: "button",
        class: "thumb down",
        title: "没帮助",
        onclick: async () => {
          if (await send("down")) details.hidden = false;
        },
      },
      "👎 没帮助",
    ),
    status,
    details,
  );
}

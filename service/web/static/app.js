// The router: the hash names the page and its arguments (#/article/000?p=…); each page module draws
// itself into <main> from the API's answers. Only display logic lives in these scripts.

import { render as ask } from "./ask.js";
import { render as diagnose } from "./diagnose.js";
import { renderBrowse as browse, renderPrinciple as principle } from "./browse.js";
import { render as article } from "./article.js";
import { render as review } from "./review.js";
import { render as log } from "./log.js";
import { errorBox, h, setTitle } from "./dom.js";

const pages = { ask, diagnose, browse, principle, article, review, log };
const navOf = { principle: "browse" };

function parseHash() {
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || "ask", args: parts.slice(1), params: new URLSearchParams(query || "") };
}

async function route() {
  const { page, args, params } = parseHash();
  const main = document.getElementById("main");
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", a.dataset.page === (navOf[page] || page));
  }
  // a fresh container per visit: a slow answer for the page just left lands in a detached node
  const view = h("div", { class: `page page-${page}` });
  main.replaceChildren(view);
  const draw = pages[page];
  if (!draw) {
    setTitle("出错了");
    view.append(errorBox(new Error(`没有这个页面：${page}`)));
    return;
  }
  try {
    await draw(view, args, params);
  } catch (err) {
    // an error page has its own title, not the one of the page that failed to draw or the one before
    setTitle("出错了");
    view.append(errorBox(err));
  }
}

window.addEventListener("hashchange", route);
route();

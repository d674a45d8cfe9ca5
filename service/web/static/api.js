// The one way the pages talk to the server: the JSON API, with the key (when the server wants one) as a
// bearer header. The key is asked for on the first 401 and kept in sessionStorage, never in a URL.

const KEY = "kb-api-key";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let pendingKey = null; // one dialog at a time, however many requests got a 401

function askForKey(reason) {
  if (pendingKey) return pendingKey;
  const dialog = document.getElementById("key-dialog");
  const form = document.getElementById("key-form");
  const input = document.getElementById("key-input");
  document.getElementById("key-reason").textContent = reason;
  input.value = "";
  pendingKey = new Promise((resolve) => {
    form.addEventListener(
      "submit",
      () => {
        sessionStorage.setItem(KEY, input.value.trim());
        pendingKey = null;
        resolve();
      },
      { once: true },
    );
  });
  dialog.showModal();
  input.focus();
  return pendingKey;
}

// `text`: the body as text (an export), not JSON
export async function api(method, path, body, { text = false } = {}) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const key = sessionStorage.getItem(KEY);
    const headers = { Accept: "application/json" };
    if (key) headers.Authorization = `Bearer ${key}`;
    // a FormData (a file upload) goes as multipart/form-data, its boundary set by the browser
    const form = body instanceof FormData;
    if (body !== undefined && !form) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined || form ? body : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, "network", `连不上服务器（${e.message}）`);
    }
    if (res.status === 401) {
      await askForKey(key ? "密钥不对，请重新输入。" : "这个知识库需要访问密钥。");
      continue;
    }
    if (text && res.ok) return res.text();
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const err = data && data.error;
      throw new ApiError(res.status, err ? err.code : "http_error", err ? err.message : `服务器返回 ${res.status}`);
    }
    return data;
  }
  throw new ApiError(401, "unauthorized", "密钥不对，请刷新页面后重试。");
}

export const get = (path) => api("GET", path);
export const getText = (path) => api("GET", path, undefined, { text: true });
export const post = (path, body) => api("POST", path, body);
export const patch = (path, body) => api("PATCH", path, body);

// the type vocabulary, fetched once per page load: labels for every page
let types = null;
export async function typeLabels() {
  if (!types) {
    types = get("/types").then((r) => Object.fromEntries(r.types.map((t) => [t.name, t.label])));
    types.catch(() => (types = null));
  }
  return types;
}

// the request limits the API declares (its OpenAPI schema), fetched once per page load, so a text box
// never allows more than the server takes nor less: the pydantic field is the one place they are set
let schemas = null;
export async function inputLimit(model, field) {
  if (!schemas) {
    schemas = get("/openapi.json").then((r) => r.components.schemas);
    schemas.catch(() => (schemas = null));
  }
  return (await schemas)[model].properties[field].maxLength;
}

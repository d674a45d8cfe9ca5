"""The web UI in a real browser against a real server (issue 16): ask and see the brief answer, open a
citation and find its span highlighted and in view, diagnose and see the matched words highlighted,
browse a list in order, review and accept a draft (on a copy of the corpus). With KB_SCREENSHOTS=dir,
each flow saves a screenshot there (the README's, via scripts/screenshots.sh)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from browser import browser
from fakes import FAKE_WORKER
from fastapi import FastAPI
from fastapi.testclient import TestClient
from samples import ARTICLE, ARTICLE_2
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from service.api import create_app
from service.build.pipeline import build
from service.curation.jobs import Publisher
from service.curation.store import add_article
from service.kb import KnowledgeBase
from service.models import AskRequest, DiagnoseRequest
from service.settings import Settings
from service.store.context import CallContext
from service.store.db import make_engine, upgrade
from service.store.querylog import QueryLog

PHONE = (430, 900)  # the pages are used on phones first
WAIT = 30


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    d = browser(*PHONE)
    try:
        yield d
    finally:
        d.quit()


def _wait(driver: Any, css: str, timeout: float = WAIT) -> Any:
    return WebDriverWait(driver, timeout).until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))


def _in_view(driver: Any, element: Any) -> bool:
    return bool(
        driver.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return r.height > 0 && r.top < window.innerHeight && r.bottom > 0;",
            element,
        )
    )


def _shot(driver: Any, name: str) -> None:
    folder = os.environ.get("KB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))


def _no_script_errors(driver: Any) -> None:
    # an HTTP error the page shows on purpose (a 401 asking for the key, a refused edit) is "network"
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and e["source"] != "network"]
    assert not errors, errors


def test_root_serves_the_ui_offline(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/ui/app.js" in page.text and "http" not in page.text.replace("http-equiv", "")
    for asset in (
        "app.js",
        "api.js",
        "dom.js",
        "ask.js",
        "diagnose.js",
        "browse.js",
        "article.js",
        "review.js",
        "feedback.js",
        "log.js",
    ):
        r = client.get(f"/ui/{asset}")
        assert r.status_code == 200 and "javascript" in r.headers["content-type"], asset
        assert "http://" not in r.text and "https://" not in r.text, asset  # nothing from the internet


def test_ui_is_open_but_the_data_needs_the_key(settings: Settings, kb: KnowledgeBase) -> None:
    with TestClient(create_app(settings.model_copy(update={"api_keys": ["k"]}), kb)) as c:
        assert c.get("/").status_code == 200 and c.get("/ui/style.css").status_code == 200
        assert c.get("/principles").status_code == 401


def test_ask_then_open_the_citation(driver: Any, server_url: str) -> None:
    driver.get(f"{server_url}/")
    box = _wait(driver, "#question")
    box.send_keys("社群定位分哪几步？")
    driver.find_element(By.CSS_SELECTOR, "form.query button").click()
    brief = _wait(driver, ".brief")
    assert "第一步" in brief.text or "三步" in brief.text, brief.text
    assert len(driver.find_elements(By.CSS_SELECTOR, "ol.hits li.hit")) >= 3
    _shot(driver, "ask")
    cite = driver.find_element(By.CSS_SELECTOR, ".brief a.cite")
    start = int(parse_qs(urlsplit(cite.get_attribute("href")).fragment.split("?", 1)[1])["start"][0])
    cite.click()
    cited = _wait(driver, "#article-text .seg.cited")
    assert int(cited.get_attribute("data-start")) == start
    assert _in_view(driver, cited)
    assert driver.find_elements(
        By.CSS_SELECTOR, "#article-text .seg.span:not(.cited)"
    )  # other principles outlined
    _shot(driver, "article")
    driver.find_element(By.ID, "raw-toggle").click()
    raw = driver.find_element(By.CSS_SELECTOR, "#article-text .seg.cited")
    assert _in_view(driver, raw) and driver.find_element(By.ID, "raw-toggle").is_selected()
    _no_script_errors(driver)


def test_not_covered_is_said_plainly(driver: Any, server_url: str) -> None:
    driver.get(f"{server_url}/#/ask?q=怎么做抖音直播带货？")
    box = _wait(driver, ".not-covered")
    assert "没有覆盖" in box.text
    assert box.find_elements(By.CSS_SELECTOR, "li a")  # the closest topics, as links


def test_diagnose_highlights_the_matched_words(driver: Any, server_url: str) -> None:
    driver.get(f"{server_url}/#/diagnose")
    box = _wait(driver, "#situation")
    box.send_keys("群里全是广告，没人说话，新人进来也不发言")
    driver.find_element(By.CSS_SELECTOR, "form.query button").click()
    match = _wait(driver, ".situation a.match")
    assert "广告" in match.text
    card = driver.find_element(By.ID, f"hit-{match.get_attribute('data-hit')}")
    assert (
        card.find_element(By.CSS_SELECTOR, ".why").text and card.find_element(By.CSS_SELECTOR, ".advice").text
    )
    _shot(driver, "diagnose")
    match.click()
    WebDriverWait(driver, WAIT).until(lambda d: _in_view(d, card))
    _no_script_errors(driver)


def test_text_boxes_take_the_limits_the_api_declares(driver: Any, server_url: str) -> None:
    from service.models import MAX_QUERY_CHARS, MAX_SITUATION_CHARS

    for route, box, limit in (
        ("ask", "#question", MAX_QUERY_CHARS),
        ("diagnose", "#situation", MAX_SITUATION_CHARS),
    ):
        driver.get(f"{server_url}/#/{route}")
        assert _wait(driver, box).get_attribute("maxlength") == str(limit)
    _no_script_errors(driver)


def test_browse_a_list_in_order(driver: Any, server_url: str) -> None:
    driver.get(f"{server_url}/#/browse?group=g001a-positioning-steps")
    _wait(driver, "ol.members li")
    titles = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "ol.members li")]
    assert [t[:3] for t in titles] == ["第一步", "第二步", "第三步"], titles
    _shot(driver, "browse")
    driver.find_element(By.CSS_SELECTOR, "ol.members li a").click()
    assert "第一步" in _wait(driver, ".principle h2").text
    assert _wait(driver, ".principle blockquote").text
    _no_script_errors(driver)


@pytest.fixture
def drafted_server(
    home: Settings, fake_embedder: type, serve: Callable[[FastAPI, Settings], AbstractContextManager[str]]
) -> Iterator[str]:
    """A server on a copy of the corpus (one article, the fake embedder) with one draft to review."""
    fake = fake_embedder()
    build(home, fake)
    kb = KnowledgeBase.load(home, fake)
    add_article(home.corpus_dir, ARTICLE.encode(), "cold-start.txt")
    app = create_app(home, kb)
    app.state.publisher = Publisher(kb, command=FAKE_WORKER)
    with serve(app, home) as url:
        yield url


def test_review_edit_and_accept_a_draft(drafted_server: str) -> None:
    driver = browser(1100, 800)
    try:
        driver.get(f"{drafted_server}/#/review")
        _wait(driver, "#key-input").send_keys("k")  # asked once, on the first 401
        driver.find_element(By.CSS_SELECTOR, "#key-form button").click()
        _wait(driver, "a.draft-link").click()
        card = _wait(driver, "form.draft-principle")
        assert card.find_elements(By.CSS_SELECTOR, ".badge.generated")  # machine-written fields flagged
        assert _in_view(driver, _wait(driver, "#draft-text .seg.cited"))
        title = card.find_element(By.NAME, "title")
        title.clear()
        title.send_keys("先找二十个种子用户")
        card.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(driver, WAIT).until(
            lambda d: "已保存" in d.find_element(By.CSS_SELECTOR, "form.draft-principle .message").text
        )
        _shot(driver, "review")
        bad = driver.find_element(By.CSS_SELECTOR, "form.draft-principle")
        bad.find_element(By.NAME, "from").clear()
        bad.find_element(By.NAME, "from").send_keys("这句话不在文章里面")
        bad.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        error = _wait(driver, "form.draft-principle .message .error")
        assert "not found" in error.text and "{" not in error.text  # the message, not raw JSON
        driver.find_element(By.ID, "accept").click()
        done = _wait(driver, "#accepted", timeout=120)
        assert "已发布" in done.text
        _no_script_errors(driver)
    finally:
        driver.quit()


def _docx(text: str) -> bytes:
    import io

    from docx import Document

    doc = Document()
    for line in text.split("\n"):
        doc.add_paragraph(line)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


@pytest.mark.parametrize("suffix", [".txt", ".docx"])  # the file goes as it is (multipart), any format
def test_upload_an_article_and_review_its_draft(drafted_server: str, tmp_path: Path, suffix: str) -> None:
    article = tmp_path / f"renewals{suffix}"
    article.write_bytes(ARTICLE_2.encode() if suffix == ".txt" else _docx(ARTICLE_2))
    driver = browser(1100, 800)
    try:
        driver.get(f"{drafted_server}/#/review")
        _wait(driver, "#key-input").send_keys("k")
        driver.find_element(By.CSS_SELECTOR, "#key-form button").click()
        _wait(driver, "#upload-file").send_keys(str(article))
        driver.find_element(By.CSS_SELECTOR, "#upload button[type=submit]").click()
        _wait(driver, "form.draft-principle")  # the new draft, open for review
        assert "付费社群的续费复盘" in driver.find_element(By.CSS_SELECTOR, ".page-review h2").text
        _no_script_errors(driver)
    finally:
        driver.quit()


def test_the_brief_reading_and_advice_provenance_are_shown(
    driver: Any, server_url: str, kb: KnowledgeBase
) -> None:
    question, situation = "群里全是广告怎么办", "群里全是广告,没人说话,新人进群也没人欢迎"
    asked = kb.ask(AskRequest(question=question))
    driver.get(f"{server_url}/#/ask?q={quote(question)}")
    assert _wait(driver, ".brief").text == asked.brief
    assert not _wait(driver, ".answer").text.startswith(asked.brief)  # the brief is not shown twice
    diagnosed = kb.diagnose(DiagnoseRequest(situation=situation))
    assert diagnosed.reading
    driver.get(f"{server_url}/#/diagnose?s={quote(situation)}")
    reading = _wait(driver, ".brief")
    assert reading.text == diagnosed.reading and reading.find_elements(By.CSS_SELECTOR, "a.cite")
    # each pitfall's advice is marked as the article's or the curator's, as the API says
    badges = [
        b.text for b in driver.find_elements(By.CSS_SELECTOR, ".card .badge.article, .card .badge.curator")
    ]
    expected = {"article": "原文建议", "curator": "整理者建议"}
    assert badges == [expected[h.advice_source] for h in diagnosed.hits if h.advice_source]
    _no_script_errors(driver)


def test_an_error_page_sets_its_own_title(driver: Any, server_url: str) -> None:
    # issue 28.14: an error page kept the title of the page before it
    driver.get(f"{server_url}/#/article/000")
    _wait(driver, ".article-text")
    assert driver.title != "出错了 · 社群运营知识库"
    for broken in ("#/article/999", "#/no-such-page"):  # an answer that fails, a page that does not exist
        driver.execute_script(f"location.hash = {broken!r}")
        _wait(driver, ".error")
        WebDriverWait(driver, WAIT).until(lambda d: d.title == "出错了 · 社群运营知识库")


@pytest.fixture
def logged_server(
    kb: KnowledgeBase,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[FastAPI, Settings], AbstractContextManager[str]],
) -> Iterator[tuple[str, QueryLog]]:
    """The real index recording into a SQLite query log of this test's, the actions writing a corpus copy."""
    engine = make_engine(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    upgrade(engine)
    log = QueryLog(engine)
    corpus = tmp_path / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    monkeypatch.setattr(kb, "query_log", log)
    monkeypatch.setattr(kb, "settings", kb.settings.model_copy(update={"corpus_dir": corpus}))
    keyed = settings.model_copy(update={"api_keys": ["ops:k"]})
    try:
        with serve(create_app(keyed, kb), keyed) as url:
            yield url, log
    finally:
        log.close()


def _enter_key(driver: Any) -> None:
    _wait(driver, "#key-input").send_keys("k")  # asked once, on the first 401
    driver.find_element(By.CSS_SELECTOR, "#key-form button").click()


def test_thumbs_under_an_answer_and_a_diagnosis(logged_server: tuple[str, QueryLog]) -> None:
    url, log = logged_server
    driver = browser(*PHONE)
    try:
        driver.get(f"{url}/#/ask?q={quote('社群定位分哪几步？')}")
        _enter_key(driver)
        bar = _wait(driver, ".feedback")
        rid = bar.get_attribute("data-request-id")
        bar.find_element(By.CSS_SELECTOR, "button.thumb.down").click()
        WebDriverWait(driver, WAIT).until(
            lambda d: "已记录" in bar.find_element(By.CSS_SELECTOR, ".feedback-status").text
        )
        form = _wait(driver, ".feedback-form")
        form.find_element(By.CSS_SELECTOR, "select[name=reason] option[value=incomplete]").click()
        form.find_element(By.NAME, "principle-search").send_keys("5W1H")
        pick = _wait(driver, ".feedback-found button.pick")
        wanted = pick.get_attribute("data-id")
        pick.click()
        form.find_element(By.NAME, "comment").send_keys("少了自查的六个问题")
        form.find_element(By.CSS_SELECTOR, "button.feedback-send").click()
        WebDriverWait(driver, WAIT).until(
            lambda d: not d.find_element(By.CSS_SELECTOR, ".feedback-details").is_displayed()
        )
        _shot(driver, "feedback")
        rated = log.event(rid or "")
        assert (rated.rating, rated.reason, rated.principle_ids, rated.comment) == (
            "down",
            "incomplete",
            [wanted],
            "少了自查的六个问题",
        )
        driver.get(f"{url}/#/diagnose?s={quote('群里全是广告,没人说话')}")
        bar = _wait(driver, ".feedback")
        bar.find_element(By.CSS_SELECTOR, "button.thumb.up").click()
        WebDriverWait(driver, WAIT).until(
            lambda d: "有帮助" in bar.find_element(By.CSS_SELECTOR, ".feedback-status").text
        )
        assert log.event(bar.get_attribute("data-request-id") or "").rating == "up"
        _no_script_errors(driver)
    finally:
        driver.quit()


def test_the_question_log_page_and_its_actions(
    logged_server: tuple[str, QueryLog], kb: KnowledgeBase
) -> None:
    url, log = logged_server
    for q in ("直播带货的坑位费一般多少?", "直播带货坑位费怎么收?", "膝盖半月板损伤还能打篮球吗?"):
        kb.ask(AskRequest(question=q), ctx=CallContext("http", "bot"))
    driver = browser(1100, 900)
    try:
        driver.get(f"{url}/#/log")
        _enter_key(driver)
        first = _wait(driver, "li.cluster")
        clusters = driver.find_elements(By.CSS_SELECTOR, "li.cluster")
        texts = [[t.text for t in c.find_elements(By.CSS_SELECTOR, "ul.texts li")] for c in clusters]
        assert sorted(texts) == sorted(
            [["膝盖半月板损伤还能打篮球吗?"], ["直播带货坑位费怎么收?", "直播带货的坑位费一般多少?"]]
        )
        _shot(driver, "log")
        knee = next(c for c, t in zip(clusters, texts, strict=True) if t == ["膝盖半月板损伤还能打篮球吗?"])
        knee.find_element(By.CSS_SELECTOR, "button.to-gap").click()
        WebDriverWait(driver, WAIT).until(
            lambda d: "已记为缺口" in knee.find_element(By.CSS_SELECTOR, ".message").text
        )
        knee.find_element(By.CSS_SELECTOR, "button.out-of-scope").click()
        WebDriverWait(driver, WAIT).until(
            lambda d: "不该答" in knee.find_element(By.CSS_SELECTOR, ".message").text
        )
        labels = (kb.settings.corpus_dir / "calibration" / "log.jsonl").read_text(encoding="utf-8")
        assert "膝盖半月板损伤还能打篮球吗?" in labels and '"in_scope": false' in labels
        assert [g.text for g in log.gaps().gaps] == ["膝盖半月板损伤还能打篮球吗?"]
        del first
        live = next(c for c, t in zip(clusters, texts, strict=True) if t != ["膝盖半月板损伤还能打篮球吗?"])
        live.find_element(By.CSS_SELECTOR, "button.to-phrasing").click()
        search = live.find_element(By.CSS_SELECTOR, "input.principle-search")
        search.send_keys("跟风建群", Keys.TAB)  # a change event
        pick = WebDriverWait(driver, WAIT).until(
            lambda d: live.find_element(By.CSS_SELECTOR, ".found button.pick")
        )
        pid = pick.get_attribute("data-id")
        pick.click()
        WebDriverWait(driver, WAIT).until(
            lambda d: "已加入" in live.find_element(By.CSS_SELECTOR, ".message").text
        )
        written = (kb.settings.corpus_dir / "phrasings" / "log.yaml").read_text(encoding="utf-8")
        assert f"{pid}:" in written and "直播带货" in written
        _no_script_errors(driver)
    finally:
        driver.quit()

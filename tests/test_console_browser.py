"""The staff console in headless Chromium (Debian's /usr/bin/chromium driven by Playwright for Python; Playwright's
own browser download does not work here) against the real server (`redactor serve`: SQLite, local store, embedded
worker). The short test (default run): a clerk logs in with the keyboard alone, files a 별지 4호 request, finds it at
the top of the queue with its D-10; axe-core (vendored from npm, tests/vendor/axe-core) finds no serious or critical
violation on the main pages at 1280x800, and no page asks for anything outside the machine. The long walk (slow):
intake, a real clip uploaded, the analysis followed, the requester kept by a click in the frame, a missed box added,
the render with its audit; the privacy officer grants, releases, makes the link; the clip is downloaded.
Each page is written as a screenshot under $REDACTOR_CONSOLE_SHOTS (default: build/console-shots/<test>, the CI
artifact; build/ is not tracked)."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import httpx
import pytest
from services import *  # noqa: F403
from services import PASSWORD, login, start_api, stop

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
KST = dt.timezone(dt.timedelta(hours=9))

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium (scripts/setup.sh test)")


@pytest.fixture
def shots(request) -> Path:
    root = Path(os.environ.get("REDACTOR_CONSOLE_SHOTS") or Path(__file__).parents[1] / "build" / "console-shots")
    folder = root / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def server(service_env):
    proc, base = start_api(service_env)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            admin = login(client, "admin")
            cam = client.post("/api/v1/cameras", headers=admin, json={
                "code": "OS-0101", "location": "오산시 원동 1", "department": "안전정책과", "officer": "과장",
                "staff": "관제팀장", "purpose": "사회안정"})
            assert cam.status_code == 201, cam.text
        yield base
    finally:
        log = stop(proc)
        assert "Traceback" not in log, log


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


def new_page(browser, base: str, outside: list[str]):
    # bypass_csp: axe-core is put into the page by the test; the console's own CSP allows no inline script
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ko-KR", bypass_csp=True,
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)

    def watch(request):
        if not request.url.startswith(base) and not request.url.startswith(("data:", "blob:")):
            outside.append(request.url)

    page.on("request", watch)
    return page


def axe(page) -> list[dict]:
    page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def shoot(page, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def login_keyboard(page, base: str, who: str) -> None:
    page.goto(f"{base}/")
    assert "/console/login" in page.url
    page.keyboard.press("Tab")  # the skip link
    page.focus("#username")
    page.keyboard.type(who)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/console" in url and "/login" not in url)
    page.wait_for_load_state()
    assert page.locator("button", has_text="로그아웃").count() == 1


def file_request(page, base: str, name: str, start: dt.datetime, end: dt.datetime, keys: bool = True) -> int:
    page.goto(f"{base}/console/requests/new")
    press(page, "#intake button[type=submit]", keys)  # empty: Korean messages beside the fields, nothing filed
    assert "청구인 성명을(를) 적어 주십시오." in page.inner_text("#requester_name-error")
    assert page.get_attribute("#requester_name", "aria-invalid") == "true"
    assert "입력을 확인해 주십시오" in page.inner_text("#message")
    page.fill("#requester_name", name)
    page.fill("#requester_phone", "010-1234-5678")
    page.fill("#requester_birth", "1985-04-12")
    page.fill("#requester_address", "경기도 오산시 원동 1")
    page.fill("#period_from", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#period_to", start.strftime("%Y-%m-%dT%H:%M"))
    page.select_option("#camera_id", label="OS-0101 · 오산시 원동 1")
    page.fill("#purpose", "본인이 찍힌 영상 확인 (분실물)")
    press(page, "#intake button[type=submit]", keys)
    assert "기록기간의 끝은 시작보다 뒤여야 합니다." in page.inner_text("#period_to-error")
    page.fill("#period_to", end.strftime("%Y-%m-%dT%H:%M"))
    assert page.input_value("#camera_location") == "오산시 원동 1"
    press(page, "#intake button[type=submit]", keys)
    page.wait_for_url(re.compile(r"/console/requests/\d+"))
    return int(re.search(r"/requests/(\d+)", page.url).group(1))


def test_clerk_files_a_request_and_main_pages_pass_axe(server, browser, shots):
    outside: list[str] = []
    page = new_page(browser, server, outside)
    page.goto(f"{server}/console/login")
    assert axe(page) == [], "login"
    shoot(page, shots, "01-login")
    login_keyboard(page, server, "clerk")
    # the keyboard reaches every menu entry, in order, with a visible focus
    menu = page.eval_on_selector_all("nav a", "els => els.map(e => e.getAttribute('href'))")
    assert len(menu) >= 5
    reached = []
    for _ in range(len(menu) + 4):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("() => document.activeElement.getAttribute('href')"))
    assert list(dict.fromkeys(h for h in reached if h in menu)) == menu, reached
    now = dt.datetime.now(KST)
    rid = file_request(page, server, "김민수", now - dt.timedelta(hours=2), now)
    assert "D-10" in page.inner_text("#due") and "김민수" in page.content()
    problems = {}
    for name, path in (("02-request", f"/console/requests/{rid}"), ("03-queue", "/console"),
                       ("04-intake", "/console/requests/new"), ("05-footage", f"/console/footage?request_id={rid}"),
                       ("06-cameras", "/console/cameras"), ("07-records", "/console/records")):
        page.goto(server + path)
        assert page.locator("h1").count() == 1
        found = axe(page)
        if found:
            problems[path] = found
        shoot(page, shots, name)
    assert problems == {}, problems
    page.goto(f"{server}/console")
    first = page.locator("table.grid tbody tr").first
    assert "김민수" in first.inner_text() and "D-10" in first.inner_text()
    # every page is reachable from the first and no link is dead: a crawl of every same-site link
    assert crawl(server, page) >= 8
    # the privacy officer's pages too
    officer = new_page(browser, server, outside)
    login_keyboard(officer, server, "privacy_officer")
    for name, path in (("08-approvals", "/console/approvals"), ("09-ledger", "/console/ledger")):
        officer.goto(server + path)
        found = axe(officer)
        assert found == [], (path, found)
        shoot(officer, shots, name)
    assert crawl(server, officer) >= 8
    assert outside == [], outside


def crawl(base: str, page, limit: int = 80) -> int:
    """Follow every same-site link from /console with the page's session; each must answer 200."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    seen, todo = set(), ["/console"]
    with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
        while todo and len(seen) < limit:
            href = todo.pop(0)
            if href in seen:
                continue
            seen.add(href)
            r = client.get(href)
            assert r.status_code == 200, (href, r.status_code)
            if r.headers.get("content-type", "").startswith("text/html") and href.startswith("/console"):
                for link in re.findall(r'href="(/[^"#]*)', r.text):
                    if link not in seen and not link.startswith("/console/static"):
                        todo.append(link.replace("&amp;", "&"))
    return len(seen)


def _box_centre(server: str, cookies: dict, aid: str, n: int) -> tuple[float, float, dict]:
    tracks = httpx.get(f"{server}/api/v1/analyses/{aid}/frames/{n}/tracks", cookies=cookies, timeout=30).json()
    people = [t for t in tracks["tracks"] if t["label"] in ("person", "face")]
    assert people, tracks
    t = max(people, key=lambda t: (t["box"][2] - t["box"][0]) * (t["box"][3] - t["box"][1]))
    b = t["box"]
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, t


def press(page, selector: str, keys: bool, key: str = "Enter") -> None:
    """Act on a control: by the keyboard alone (focus, then Enter or Space), or by the mouse."""
    if keys:
        page.focus(selector)
        page.keyboard.press(key)
    else:
        page.click(selector)


@pytest.mark.slow  # analysis, render (identity guard, audit) and release of a real clip on the CPU: minutes
@pytest.mark.parametrize("keys", [False, True], ids=["mouse", "keyboard"])
def test_clerk_to_release_in_the_browser(server, browser, shots, short_clip, keys):
    outside: list[str] = []
    page = new_page(browser, server, outside)
    login_keyboard(page, server, "clerk")
    now = dt.datetime.now(KST)
    rid = file_request(page, server, "김민수", now - dt.timedelta(hours=2), now + dt.timedelta(hours=1), keys)
    press(page, "text=이 청구의 영상 찾기·올리기", keys)
    page.wait_for_selector("#u-file")
    if keys:  # the file input opens its chooser from the keyboard too
        page.focus("#u-file")
        with page.expect_file_chooser() as chooser:
            page.keyboard.press("Space")
        chooser.value.set_files(str(short_clip))
    else:
        page.set_input_files("#u-file", str(short_clip))
    press(page, "#upload-form button[type=submit]", keys)
    page.wait_for_url(re.compile(r"/console/analyses/[0-9a-f]+"), timeout=120_000)
    shoot(page, shots, "10-analysis-running")
    aid = page.url.rsplit("/", 1)[1]
    page.wait_for_selector("#frame", timeout=600_000)  # the page reloads itself when the analysis is done
    page.wait_for_selector("#tracks li")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    # keep the requester at frame 8 (reached with the scrubber's number field): a click on the largest person there,
    # or, from the keyboard, their row's checkbox
    page.fill("#frame-no", "8")
    page.dispatch_event("#frame-no", "change")
    page.wait_for_function("() => { const i = document.getElementById('frame'); "
                           "return i.src.includes('/frames/8.jpg') && i.complete && i.naturalWidth > 0; }")
    x, y, picked = _box_centre(server, cookies, aid, 8)
    if keys:
        press(page, f"#keep-{picked['id']}", keys, "Space")
    else:
        img = page.locator("#frame")
        size = img.evaluate("i => [i.naturalWidth, i.naturalHeight, i.clientWidth, i.clientHeight]")
        img.click(position={"x": x * size[2] / size[0], "y": y * size[3] / size[1]})
    page.wait_for_function("() => Number(document.getElementById('kept-count').textContent) > 0")
    assert "유지합니다" in page.inner_text("#message")
    page.wait_for_function("() => document.getElementById('frame').src.includes('keep_set_id=') && "
                           "document.getElementById('frame').complete")
    shoot(page, shots, "11-review-kept")
    # a missed face: a box given by the coordinate form, at frame 5
    page.fill("#frame-no", "5")
    page.dispatch_event("#frame-no", "change")
    for ident, v in (("#bx1", 10), ("#by1", 10), ("#bx2", 40), ("#by2", 44)):
        page.fill(ident, str(v))
    press(page, "#box-form button[type=submit]", keys)
    page.wait_for_function("() => document.getElementById('revision').textContent === '1'")
    assert "상자를 추가했습니다" in page.inner_text("#message")
    shoot(page, shots, "12-review-box")
    press(page, "#render", keys)
    page.wait_for_url(re.compile(r"/console/renders/[0-9a-f]+"), timeout=900_000)
    shoot(page, shots, "13-render")
    verdict = page.inner_text("#audit-verdict")
    assert "감사 통과" in verdict, verdict
    assert page.locator("video#preview").count() == 1
    render_url = page.url

    officer = new_page(browser, server, outside)
    login_keyboard(officer, server, "privacy_officer")
    officer.goto(f"{server}/console/approvals")
    shoot(officer, shots, "14-approvals")
    with officer.expect_navigation():
        press(officer, f"button.grant[data-request='{rid}']", keys)
    assert "결정을 기다리는 청구가 없습니다" in officer.content()
    officer.goto(render_url)
    press(officer, "#release-form button[type=submit]", keys)
    officer.wait_for_selector("#download-link", timeout=300_000)
    shoot(officer, shots, "15-released")
    url = officer.get_attribute("#download-link", "href")
    got = httpx.get(url, timeout=60)
    assert got.status_code == 200 and len(got.content) > 1000 and got.content[4:8] == b"ftyp"
    (shots / "released.mp4").write_bytes(got.content)
    officer.goto(f"{server}/console/requests/{rid}")
    assert "허용" in officer.inner_text("#due") and "통지서(PDF)" in officer.content()
    officer.goto(f"{server}/console/ledger")
    assert officer.locator("table.grid tbody tr").count() >= 1 and "기록이 없습니다" not in officer.content()
    shoot(officer, shots, "16-ledger")
    assert outside == [], outside

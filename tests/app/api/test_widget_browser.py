"""The chat widget and the demo storefront: HTTP checks, then `/demo` in headless Chromium.

The app runs under a real uvicorn server on 127.0.0.1 (a background thread) with a scripted
engine, in embedded mode on a temporary SQLite file with the demo shoppers seeded. Chromium
and chromedriver are Debian's packages; the first run installs them.

`MORE_WRITE_SCREENSHOT=1` also copies the conversation screenshot to docs/img/demo.png.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from app.core.config import DEMO_STOREFRONT_KEY, Settings
from app.domain.prompt import ChatMessage
from app.engine.base import EngineError
from app.main import create_app
from app.services.demo import DEMO_CASES, seed_demo_profiles
from app.store.db import create_db_engine, create_session_factory
from app.store.migrations import upgrade
from tests.factories import ScriptedEngine, run_sync

ROOT = Path(__file__).resolve().parents[3]
STATIC = ROOT / "app" / "api" / "static"

# The machine's network is closed: without the background-networking flags Chromium keeps
# retrying refused connections (updates, sync, safe browsing) and slows everything down.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # root in CI, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)
WAIT_S = 20  # longest wait for the page; a turn takes ~1 s

PHONE_REPLY = (
    "Yes, Ada! The Pixel 9 phone at $299.00 fits your available credit of $1,200.00, "
    "so you can pay for it in 3, 6, 12 or 24 monthly instalments."
)
EARBUDS_REPLY = (
    "Adding the earbuds brings your cart to $378.00, which still fits your available credit."
)
HANDOFF_REPLY = "I understand. Let me connect you with a human agent now."


# -- set-up: Chromium, the app under uvicorn, the browser ------------------------------------


def _install_chromium() -> str | None:
    """apt-get install Debian's chromium and chromedriver; the error text if that failed."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [
        "apt-get",
        "install",
        "-y",
        "--no-install-recommends",
        "-o",
        "DPkg::Lock::Timeout=300",  # another apt-get may be running on a shared machine
        "chromium",
        "chromium-driver",
    ]
    result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=1200)
    if result.returncode != 0:
        # A fresh machine has no package lists yet.
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=1200)
    return None if result.returncode == 0 else result.stderr.strip()[-500:]


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    """Paths of the Chromium browser and its driver, installed when missing."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        error = _install_chromium()
        if error is not None:
            pytest.skip(f"could not install chromium and chromium-driver: {error}")
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        pytest.skip("chromium or chromedriver is still missing after apt-get install")
    return browser, driver


@pytest.fixture(scope="module")
def browser(
    chromium: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebDriver]:
    """One headless Chromium for the module; each test opens its own server's origin."""
    options = webdriver.ChromeOptions()
    options.binary_location = chromium[0]
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    # An explicit driver path keeps Selenium Manager (which downloads drivers) out of it.
    service = webdriver.ChromeService(executable_path=chromium[1], log_output=subprocess.DEVNULL)
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def _embedded_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": None,
        "REDIS_URL": None,
        "MORE_DATA_DIR": data_dir,
        # The scripted reply is shown as written, and no intent classifier is loaded.
        "MORE_GUARD_MODE": "off",
        "MORE_PROMPT_VERDICT": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _migrate_and_seed(settings: Settings) -> None:
    """What `more up` does before serving: migrate the SQLite file, seed the demo shoppers."""
    run_sync(upgrade, settings.database_url)

    async def seed() -> None:
        engine = create_db_engine(settings.database_url, pool_size=1)
        try:
            await seed_demo_profiles(create_session_factory(engine))
        finally:
            await engine.dispose()

    run_sync(asyncio.run, seed())


@contextmanager
def _serve(settings: Settings, engine: ScriptedEngine) -> Iterator[str]:
    """The app under uvicorn in a background thread; yields its base URL, stops it after."""
    app = create_app(settings=settings, engine=engine)
    # Bound here, before the server starts: port 0 picks a free port with no race.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, timeout_graceful_shutdown=2)
    # uvicorn installs signal handlers only on the main thread, so none are installed here.
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-test", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start; see the captured log")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive(), "the test server did not stop"


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """`demo_server(engine, **settings)`: a migrated, seeded embedded app; its base URL."""
    with ExitStack() as stack:

        def start(engine: ScriptedEngine, **overrides: Any) -> str:
            settings = _embedded_settings(tmp_path / "data", **overrides)
            _migrate_and_seed(settings)
            return stack.enter_context(_serve(settings, engine))

        yield start


def _assistant(messages: Sequence[ChatMessage]) -> str:
    return EARBUDS_REPLY if "earbuds" in messages[-1]["content"] else PHONE_REPLY


# -- page helpers ----------------------------------------------------------------------------


def _open_demo(driver: WebDriver, base_url: str, *, shopper: str | None = None) -> None:
    """Open /demo, put the phone in the cart, pick a shopper and open the chat panel."""
    driver.get(f"{base_url}/demo")
    driver.find_element(By.CSS_SELECTOR, "button.add[data-title='Pixel 9 phone']").click()
    if shopper is not None:
        # Switching shopper remounts the widget and opens it.
        Select(driver.find_element(By.ID, "shopper")).select_by_value(shopper)
    else:
        driver.find_element(By.CSS_SELECTOR, ".more-chat__launcher").click()
    WebDriverWait(driver, WAIT_S).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, ".more-chat__panel"))
    )


def _send(driver: WebDriver, message: str) -> None:
    """Type a message, press Enter, and wait until the turn has settled."""
    wait = WebDriverWait(driver, WAIT_S)
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, ".more-chat__send")))
    driver.find_element(By.CSS_SELECTOR, ".more-chat__input").send_keys(message, Keys.ENTER)
    wait.until(
        lambda d: (
            not d.find_elements(By.CSS_SELECTOR, ".more-chat__msg--pending")
            and d.find_elements(By.CSS_SELECTOR, ".more-chat__msg--user")[-1].text == message
        )
    )


def _texts(driver: WebDriver, kind: str) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, f".more-chat__msg--{kind}")]


# Records every text the newest assistant bubble shows, to see a reply arrive in pieces.
_RECORD_ASSISTANT_TEXT = """
window.seenTexts = [];
const log = document.querySelector(".more-chat__log");
new MutationObserver(() => {
  const bubbles = log.querySelectorAll(".more-chat__msg--assistant");
  window.seenTexts.push(bubbles[bubbles.length - 1].textContent);
}).observe(log, { subtree: true, childList: true, characterData: true });
"""


# -- HTTP ------------------------------------------------------------------------------------


def test_widget_script_served_with_cache_headers_and_demo_proxies_chat(
    demo_server: Callable[..., str],
) -> None:
    base_url = demo_server(ScriptedEngine(PHONE_REPLY))
    with httpx.Client(base_url=base_url, timeout=WAIT_S) as client:
        script = client.get("/widget.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("application/javascript")
        assert script.headers["cache-control"] == "public, max-age=600"
        assert "etag" in script.headers and "window.MoreChat" in script.text

        page = client.get("/demo")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        paths = client.get("/openapi.json").json()["paths"]
        assert not {"/widget.js", "/demo", "/demo/chat"} & set(paths)

        # No Authorization header: the proxy adds the storefront key server-side.
        body = {"user_id": "demo-eligible", "message": "Can I pay in instalments?"}
        stream = client.post("/demo/chat", json=body)
        assert stream.status_code == 200, stream.text
        assert "event: delta" in stream.text and "event: done" in stream.text

        unknown = client.post("/demo/chat", json={**body, "user_id": "nobody"})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "unknown_user"


async def test_demo_routes_not_found_outside_embedded_mode(
    make_client: Callable[..., Any], pg_settings: Callable[..., Settings]
) -> None:
    settings = pg_settings(MORE_PROMPT_VERDICT=False)  # no intent classifier to load
    async with make_client(settings, ScriptedEngine()) as client:
        assert (await client.get("/widget.js")).status_code == 200
        page = await client.get("/demo")
        assert page.status_code == 404
        assert page.json()["error"]["code"] == "not_found"
        body = {"user_id": "demo-eligible", "message": "hi"}
        assert (await client.post("/demo/chat", json=body)).status_code == 404


def test_demo_page_offers_only_seeded_shoppers() -> None:
    offered = re.findall(r'<option value="([^"]+)"', (STATIC / "demo.html").read_text())
    seeded = {case.profile.user_id for case in DEMO_CASES}
    assert offered[0] == "demo-eligible" and set(offered) <= seeded


# -- the browser -----------------------------------------------------------------------------


def test_widget_streams_reply_and_continues_session(
    browser: WebDriver, demo_server: Callable[..., str], tmp_path: Path
) -> None:
    engine = ScriptedEngine(_assistant, delay_s=0.05)
    _open_demo(browser, demo_server(engine))
    browser.execute_script(_RECORD_ASSISTANT_TEXT)

    _send(browser, "Can I pay for this phone in instalments?")
    assert _texts(browser, "assistant")[-1] == PHONE_REPLY
    seen = browser.execute_script("return window.seenTexts")
    partial = {text for text in seen if text and text != PHONE_REPLY}
    assert len(partial) >= 3, f"the reply did not arrive in pieces: {seen}"
    assert all(PHONE_REPLY.startswith(text) for text in partial)
    # The cart went along as context and reached the prompt.
    assert '"Pixel 9 phone" $299' in engine.prompts[-1][0]["content"]

    browser.find_element(By.CSS_SELECTOR, "button.add[data-title='Wireless earbuds']").click()
    _send(browser, "And if I add the earbuds?")
    assert _texts(browser, "assistant")[-1] == EARBUDS_REPLY
    # Same session: the first turn is in the second turn's history.
    prompt = engine.prompts[-1]
    assert [m["content"] for m in prompt[1:3]] == [
        "Can I pay for this phone in instalments?",
        PHONE_REPLY,
    ]
    assert '"Wireless earbuds" $79' in prompt[0]["content"]
    assert not browser.find_elements(By.CSS_SELECTOR, ".more-chat__msg--notice")

    screenshot = tmp_path / "demo.png"
    assert browser.save_screenshot(str(screenshot))
    if os.environ.get("MORE_WRITE_SCREENSHOT") == "1":
        (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, ROOT / "docs" / "img" / "demo.png")


def test_widget_shows_handoff_and_disables_input(
    browser: WebDriver, demo_server: Callable[..., str]
) -> None:
    engine = ScriptedEngine(HANDOFF_REPLY)
    _open_demo(browser, demo_server(engine), shopper="demo-fraud")

    _send(browser, "Why was my order held? I want to talk to someone.")
    assert _texts(browser, "assistant")[-1] == HANDOFF_REPLY
    banner = browser.find_element(By.CSS_SELECTOR, ".more-chat__banner")
    assert banner.is_displayed() and "team will take over" in banner.text
    assert not browser.find_element(By.CSS_SELECTOR, ".more-chat__input").is_enabled()
    assert not browser.find_element(By.CSS_SELECTOR, ".more-chat__send").is_enabled()
    assert "Customer: Hana" in engine.prompts[-1][0]["content"]


def test_widget_shows_handoff_when_an_agent_takes_over(
    browser: WebDriver, demo_server: Callable[..., str], tmp_path: Path
) -> None:
    base_url = demo_server(ScriptedEngine(PHONE_REPLY))
    _open_demo(browser, base_url)
    _send(browser, "Can I pay for this phone in instalments?")
    with sqlite3.connect(tmp_path / "data" / "more.db") as db:
        (session_id,) = db.execute("SELECT id FROM sessions").fetchone()
    taken = httpx.post(
        f"{base_url}/v1/sessions/{session_id}/handoff",
        headers={"Authorization": f"Bearer {DEMO_STOREFRONT_KEY}"},
        timeout=WAIT_S,
    )
    assert taken.status_code == 200, taken.text

    # The next turn is refused with 409 session_handed_off: the widget hands off too.
    _send(browser, "Hello?")
    assert browser.find_element(By.CSS_SELECTOR, ".more-chat__banner").is_displayed()
    assert not browser.find_element(By.CSS_SELECTOR, ".more-chat__input").is_enabled()
    assert _texts(browser, "assistant")[-1] == PHONE_REPLY
    assert not _texts(browser, "notice")


def test_widget_explains_a_failed_reply(
    browser: WebDriver, demo_server: Callable[..., str]
) -> None:
    engine = ScriptedEngine(PHONE_REPLY)
    engine.fail_with = EngineError("the engine fell over")
    _open_demo(browser, demo_server(engine))

    # The turn fails after the stream has started: an `error` event, not an HTTP status.
    _send(browser, "Can I pay for this phone in instalments?")
    assert _texts(browser, "notice") == [
        "Our assistant is busy right now. Please try again in a moment."
    ]
    assert len(_texts(browser, "assistant")) == 1  # the greeting; no half-written reply
    assert browser.find_element(By.CSS_SELECTOR, ".more-chat__send").is_enabled()


def test_widget_explains_rate_limit_with_retry_after(
    browser: WebDriver, demo_server: Callable[..., str]
) -> None:
    # The demo proxy is not a /v1 route (the key's limit lives in the gate): the shopper's
    # limit answers. Limits count in fixed windows: three sends in one of them.
    window_s = 300
    left_s = window_s - time.time() % window_s
    if left_s < 15:
        time.sleep(left_s)
    base_url = demo_server(
        ScriptedEngine(PHONE_REPLY),
        MORE_RATE_LIMIT_PER_USER=2,
        MORE_RATE_LIMIT_WINDOW_S=window_s,
    )
    _open_demo(browser, base_url)

    _send(browser, "Can I pay for this phone in instalments?")
    _send(browser, "Over 12 months?")
    _send(browser, "And over 24 months?")
    (notice,) = _texts(browser, "notice")
    assert re.fullmatch(
        r"You're sending messages too quickly\. Please wait \d+ seconds and try again\.", notice
    ), notice
    # Two replies after the greeting; the refused turn left no empty bubble behind.
    assert len(_texts(browser, "assistant")) == 3
    assert not browser.find_element(By.CSS_SELECTOR, ".more-chat__send").is_enabled()

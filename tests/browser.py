"""A real headless Chromium, driven over the DevTools protocol (websocket-client): open a
page, collect what its console said, every network request it made and a screenshot."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
SKIP_REASON = ("needs a real Chromium: apt-get install chromium (and pip install "
               "websocket-client)")


@dataclass
class PageVisit:
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    screenshot: bytes = b""
    text: str = ""  # document.body.innerText
    values: dict = field(default_factory=dict)  # what the expressions asked for gave


def visit(url: str, *, width: int = 1280, height: int = 900, settle_s: float = 1.0,
          evaluate: dict[str, str] | None = None) -> PageVisit:
    import websocket

    profile = tempfile.mkdtemp(prefix="lrlab-chromium-")
    browser = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--remote-debugging-port=0", f"--user-data-dir={profile}",
         f"--window-size={width},{height}", "about:blank"],
        stderr=subprocess.PIPE, text=True)
    try:
        endpoint = _devtools_endpoint(browser)
        page = _page_socket(endpoint, websocket)
        return _drive(page, url, settle_s, evaluate or {})
    finally:
        browser.kill()
        browser.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def _devtools_endpoint(browser: subprocess.Popen) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = browser.stderr.readline()
        found = re.search(r"DevTools listening on (ws://\S+)", line)
        if found:
            return found.group(1)
    raise RuntimeError("Chromium did not open its DevTools endpoint")


def _page_socket(endpoint: str, websocket) -> object:
    """A websocket to a page target (the browser's own endpoint creates one)."""
    from urllib.request import urlopen

    port = re.search(r":(\d+)/", endpoint).group(1)
    targets = json.load(urlopen(f"http://127.0.0.1:{port}/json"))
    page = next(t for t in targets if t["type"] == "page")
    return websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30,
                                       suppress_origin=True)


def _drive(page, url: str, settle_s: float, evaluate: dict[str, str]) -> PageVisit:
    seen = PageVisit()
    counter = iter(range(1, 10_000))

    def send(method: str, **params) -> dict:
        number = next(counter)
        page.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(page.recv())
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            note(message)

    def note(message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            seen.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            seen.console_errors.append(" ".join(str(a.get("value", a.get("description")))
                                                for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            seen.console_errors.append(details.get("exception", {}).get(
                "description", details.get("text", "exception")))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            seen.console_errors.append(params["entry"]["text"])

    for domain in ("Page", "Network", "Runtime", "Log"):
        send(f"{domain}.enable")
    send("Page.navigate", url=url)
    deadline = time.monotonic() + 30
    loaded = False
    while time.monotonic() < deadline and not loaded:
        message = json.loads(page.recv())
        note(message)
        loaded = message.get("method") == "Page.loadEventFired"
    end = time.monotonic() + settle_s  # late scripts, late requests
    page.settimeout(0.2)
    while time.monotonic() < end:
        try:
            note(json.loads(page.recv()))
        except Exception:  # noqa: BLE001 - a timeout: nothing more arrived
            pass
    page.settimeout(30)
    seen.text = send("Runtime.evaluate", expression="document.body.innerText",
                     returnByValue=True)["result"]["value"]
    for name, expression in evaluate.items():
        seen.values[name] = send("Runtime.evaluate", expression=expression,
                                 returnByValue=True)["result"].get("value")
    shot = send("Page.captureScreenshot", format="png", captureBeyondViewport=False)
    seen.screenshot = base64.b64decode(shot["data"])
    return seen


def is_blank(png: bytes) -> bool:
    """True when every pixel of the PNG has the same colour."""
    import io

    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png))
    return bool((pixels == pixels[0, 0]).all())


def save(png: bytes, path: Path) -> Path:
    path.write_bytes(png)
    return path

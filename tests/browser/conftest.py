"""Browser fixtures: the real server on a loopback port with the review fixture city, and
Debian's headless Chromium driven by Playwright (``playwright`` from PyPI, its own browser
never downloaded: ``executable_path`` points at /usr/bin/chromium).

Without Chromium the browser tests are skipped on a developer's machine and fail in CI
(CI or GRIDSYNC_REQUIRE_BROWSER set): ``.ci/run`` installs chromium from Debian.
Screenshots go to ``test-artifacts/screenshots`` (or ``$GRIDSYNC_ARTIFACTS/screenshots``).
"""
import os
import threading

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import Auth, _dispose, build_app

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACTS = os.environ.get("GRIDSYNC_ARTIFACTS", os.path.join(ROOT, "test-artifacts"))
CHROMIUM = os.environ.get("GRIDSYNC_CHROMIUM", "/usr/bin/chromium")
# Flags for a sandboxed CI machine with no network beyond loopback: no background fetches.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desk": {"width": 1366, "height": 900}}


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def _required():
    return bool(os.environ.get("CI")) or bool(os.environ.get("GRIDSYNC_REQUIRE_BROWSER"))


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if _required():
            pytest.fail(f"headless Chromium is required here but {CHROMIUM} is missing")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def live(request, tmp_path):
    """The review fixture city served on 127.0.0.1; yields (base_url, city, ids)."""
    from tests.city import make_city
    from tests.server.review_city import build_and_refresh
    app = build_app("sqlite", tmp_path, request)
    with app.app_context():
        city = make_city()
    client = app.test_client()
    ids = build_and_refresh(app, client, Auth(client), city)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", city, ids
    server.shutdown()
    _dispose(app)


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser, tmp_path):
    """A fresh browser context (no cookies) at a phone-sized or a desk-sized viewport."""
    size = request.param
    context = browser.new_context(viewport=VIEWPORTS[size], is_mobile=size == "phone",
                                  has_touch=size == "phone", accept_downloads=True, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.viewport_name = size
    yield pg
    context.close()


def follow(page, selector):
    """Click what opens another page and wait until that page has loaded: a click alone does not
    wait for it, and what is read right after it can be the page it left."""
    with page.expect_navigation():
        page.click(selector)


def shot(page, name):
    """Save a full-page screenshot as a test artefact."""
    folder = os.path.join(ARTIFACTS, "screenshots")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}-{page.viewport_name}.png")
    page.screenshot(path=path, full_page=True)
    return path

"""The field app's budget: the app shell's size as the server sends it (gzip), against 150 KB, and
the first load of /field over a 64 kbit/s link (Chromium's own network throttling, 400 ms round
trips), against 30 s, with the same load on the unthrottled loopback as the baseline measured in
the same run.

"First load" ends when the log-in screen is usable (every module loaded and run); "installed"
when the service worker has cached the whole shell, so the app opens with no signal. The service
worker's own fetches are not throttled by the page's emulation (DevTools throttles the page's
target), so the installed time is a lower bound on a real link; the shell's bytes over 8 KB/s
are printed beside it as the arithmetic floor.

    python bench/field_app.py            # needs /usr/bin/chromium (or GRIDSYNC_CHROMIUM)
"""
import argparse
import os
import re
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.benchapp import app_config, migrate  # noqa: E402

SW = os.path.join(ROOT, "server", "field", "static", "sw.js")
BUDGET_BYTES = 150 * 1024
BUDGET_S = 30.0
LINK_BYTES_S = 64_000 / 8
RTT_MS = 400
CHROMIUM = os.environ.get("GRIDSYNC_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def shell_paths():
    with open(SW, encoding="utf-8") as fh:
        block = re.search(r"const SHELL = \[(.*?)\];", fh.read(), re.S).group(1)
    return re.findall(r'"([^"]+)"', block)


def shell_bytes(app):
    """(bytes on the wire with gzip, bytes plain) of every file of the shell."""
    client = app.test_client()
    wire = plain = 0
    for path in shell_paths():
        gz = client.get(path, headers={"Accept-Encoding": "gzip"})
        raw = client.get(path)
        assert gz.status_code == 200 and raw.status_code == 200, path
        wire += len(gz.data)
        plain += len(raw.data)
    return wire, plain


def load(browser, base, throttle):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN",
                                  service_workers="allow", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(120_000)
    if throttle:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": RTT_MS,
                                                        "downloadThroughput": LINK_BYTES_S,
                                                        "uploadThroughput": LINK_BYTES_S})
    received = []
    page.on("response", lambda r: received.append(r.url))
    started = time.perf_counter()
    page.goto(base + "/field/")
    page.wait_for_selector("#login")
    usable = time.perf_counter() - started
    n = len(shell_paths())
    page.wait_for_function(
        "(n) => navigator.serviceWorker.ready.then(() => caches.keys()).then((ks) => Promise.all(ks.map(async (k) =>"
        " (await (await caches.open(k)).keys()).length))).then((ls) => ls.some((l) => l >= n))", arg=n)
    installed = time.perf_counter() - started
    context.close()
    return usable, installed, len(received)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.parse_args(argv)
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from server import create_app
    tmp = tempfile.mkdtemp(prefix="gridsync-field-bench-")
    url = f"sqlite:///{os.path.join(tmp, 'bench.db')}"
    migrate(url)
    app = create_app(app_config(url))
    wire, plain = shell_bytes(app)
    print(f"app shell: {len(shell_paths())} files, {plain / 1024:.1f} KB plain, {wire / 1024:.1f} KB as sent (gzip); "
          f"budget {BUDGET_BYTES // 1024} KB: {wire / BUDGET_BYTES:.2f} of it")
    floor = wire / LINK_BYTES_S
    print(f"the shell's bytes over 64 kbit/s alone: {floor:.1f} s")
    if not os.path.exists(CHROMIUM):
        print(f"no Chromium at {CHROMIUM}: load times not measured")
        print(f"RESULT shell_gzip_kb={wire / 1024:.1f} shell_plain_kb={plain / 1024:.1f} budget_ratio={wire / BUDGET_BYTES:.3f}")
        return 0
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            fast_usable, fast_installed, _ = load(browser, base, throttle=False)
            slow_usable, slow_installed, requests = load(browser, base, throttle=True)
            browser.close()
    finally:
        server.shutdown()
    print(f"loopback (baseline): usable in {fast_usable:.2f} s, shell cached in {fast_installed:.2f} s")
    print(f"64 kbit/s, {RTT_MS} ms round trips: usable in {slow_usable:.1f} s ({requests} responses), "
          f"shell cached in {slow_installed:.1f} s; {slow_usable / fast_usable:.0f}x the baseline; "
          f"budget {BUDGET_S:.0f} s: {slow_usable / BUDGET_S:.2f} of it")
    print(f"RESULT shell_gzip_kb={wire / 1024:.1f} shell_plain_kb={plain / 1024:.1f} budget_ratio={wire / BUDGET_BYTES:.3f} "
          f"first_load_s={slow_usable:.1f} installed_s={slow_installed:.1f} baseline_s={fast_usable:.2f} "
          f"load_ratio={slow_usable / fast_usable:.1f} load_budget_ratio={slow_usable / BUDGET_S:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

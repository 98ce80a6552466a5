#!/usr/bin/env python3
"""The dashboard in a real browser: headless Chromium driven by Selenium (Debian's chromium,
chromium-driver and python3-selenium; `tools/deps.sh test` installs them).

Starts whoami and portier (file provider, api.insecure on 127.0.0.1:0, api.dashboardName, and a
router to api@internal under a stripped /admin prefix), opens /dashboard/ on both, checks the
instance name in the header and that the routers render with their status and errors, changes the
dynamic file and waits for the page to show the new router without a reload, saves a
screenshot, sends real requests and checks that the traffic view shows their rates and totals,
and checks that the browser logged no error.

    dashboard_test.py --portier build/src/app/portier --whoami build/tools/whoami/whoami \
        [--screenshot out.png]

(or PORTIER_BIN / WHOAMI_BIN in the environment). Exits 0 on success, 1 on a failure.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

try:
    from selenium.webdriver.common.by import By

    from browser_support import make_driver, poll_until, start, stop, wait_for_log
except ImportError as e:  # not Debian's python3, or python3-selenium missing
    sys.exit(f"dashboard_test: {e} (run tools/deps.sh test; use /usr/bin/python3)")


def dynamic_yaml(whoami_url, extra_router=""):
    return f"""http:
  routers:
    whoami:
      rule: "Host(`whoami.localhost`)"
      service: whoami
      middlewares: [hdr]
    broken:
      rule: "Host(`bad`"
      service: whoami
    orphan:
      rule: "Host(`orphan.localhost`)"
      service: nowhere
    admin:
      rule: "PathPrefix(`/admin`)"
      service: api@internal
      middlewares: [strip]
{extra_router}  services:
    whoami:
      loadBalancer:
        servers:
          - url: "{whoami_url}"
  middlewares:
    hdr:
      headers:
        customResponseHeaders: {{X-Dashboard: "yes"}}
    strip:
      stripPrefix:
        prefixes: ["/admin"]
"""


def row(driver, section, name):
    rows = driver.find_elements(By.CSS_SELECTOR, f'#{section}-body tr[data-name="{name}"]')
    return rows[0] if rows else None


def router_state(driver, name):
    """(status text, error texts) of a router's row, or None while it is not shown."""
    r = row(driver, "routers", name)
    if r is None:
        return None
    status = r.find_element(By.CSS_SELECTOR, ".badge").text
    errors = [li.text for li in r.find_elements(By.CSS_SELECTOR, "ul.errors li")]
    return status, errors


def check_page(driver, url):
    driver.get(url)
    assert driver.title.startswith("portier dashboard"), driver.title
    # Which instance this is: api.dashboardName, in the header and the title.
    poll_until("the instance name in the header",
               lambda: driver.find_element(By.ID, "instance").text == "edge-a")
    assert driver.title == "portier dashboard: edge-a", driver.title
    whoami = poll_until("whoami@file enabled",
                        lambda: (s := router_state(driver, "whoami@file")) and s[0] == "enabled" and s)
    assert whoami[1] == [], whoami
    cells = [td.text for td in row(driver, "routers", "whoami@file").find_elements(By.TAG_NAME, "td")]
    assert cells[1:6] == ["whoami@file", "Host(`whoami.localhost`)", "web", "whoami@file",
                          "hdr@file"], cells
    broken = poll_until("broken@file disabled",
                        lambda: (s := router_state(driver, "broken@file")) and s[0] == "disabled" and s)
    assert broken[1] and "column" in broken[1][0], broken
    orphan = poll_until("orphan@file", lambda: router_state(driver, "orphan@file"))
    assert orphan[0] == "disabled" and "nowhere@file" in orphan[1][0], orphan
    # The other sections: counts, entrypoints, services with their servers, middlewares,
    # the default certificate, and "no traffic data" while /api/portier/traffic is not served.
    counts = driver.find_element(By.CSS_SELECTOR, "#card-routers .counts").text
    assert counts.startswith("4"), counts
    assert row(driver, "entrypoints", "web") is not None
    svc = poll_until("whoami@file service", lambda: row(driver, "services", "whoami@file"))
    assert "UP" in svc.text and "in flight" in svc.text, svc.text
    assert row(driver, "middlewares", "hdr@file") is not None
    certs = driver.find_element(By.ID, "certificates-body").text
    assert "PORTIER DEFAULT CERT" in certs and "generated" in certs, certs
    # Traffic is served: the entrypoint has its row (no request yet: the API's are internal).
    poll_until("traffic row for web", lambda: row(driver, "traffic", "web"))


def send_traffic(port, ok_count, missing_count, pause_s):
    """Requests through portier's web entrypoint: `ok_count` to whoami.localhost (200), and
    `missing_count` to a host no router has (404), interleaved, `pause_s` apart."""
    import http.client
    sent_missing = 0
    for i in range(ok_count):
        for host in ["whoami.localhost"] + (["nobody.localhost"] if sent_missing < missing_count
                                             and i % max(1, ok_count // missing_count) == 0 else []):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/", headers={"Host": host})
            status = c.getresponse().status
            c.close()
            assert status == (200 if host == "whoami.localhost" else 404), (host, status)
            if host != "whoami.localhost":
                sent_missing += 1
        time.sleep(pause_s)
    return sent_missing


def check_traffic_view(driver, url, web_port):
    """Real requests while the page polls /api/portier/traffic: rates appear per entrypoint and
    router by status class, then the totals match what was sent."""
    import threading
    driver.get(url)
    result = {}
    sender = threading.Thread(
        target=lambda: result.setdefault("missing", send_traffic(web_port, 40, 8, 0.15)))
    sender.start()

    def rates(name, column):
        r = row(driver, "traffic", name)
        if r is None:
            return None
        cells = [td.text for td in r.find_elements(By.TAG_NAME, "td")]
        # kind, name, req/s, requests, 2xx/s, 3xx/s, 4xx/s, 5xx/s, bar, open connections
        try:
            return cells if float(cells[column]) > 0 else None
        except ValueError:
            return None
    try:
        web = poll_until("a 4xx rate on web", lambda: rates("web", 6))
        assert web[0] == "entrypoint", web
        router = poll_until("a 2xx rate on whoami@file", lambda: rates("whoami@file", 4))
        assert router[0] in ("router", "service"), router
    finally:
        sender.join()
    assert result.get("missing") == 8, result
    assert not driver.find_element(By.ID, "traffic-empty").is_displayed()
    # Every request is counted: 40 routed, 8 answered 404 by the entrypoint.
    poll_until("web total 48", lambda: (r := row(driver, "traffic", "web")) and
               r.find_elements(By.TAG_NAME, "td")[3].text == "48")
    poll_until("whoami@file total 40", lambda: (r := row(driver, "traffic", "whoami@file")) and
               r.find_elements(By.TAG_NAME, "td")[3].text == "40")
    bar = row(driver, "traffic", "web").find_elements(By.CSS_SELECTOR, ".bar span")
    classes = [b.get_attribute("class") for b in bar]
    assert "c2xx" in classes, classes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--portier", default=os.environ.get("PORTIER_BIN"))
    ap.add_argument("--whoami", default=os.environ.get("WHOAMI_BIN"))
    ap.add_argument("--screenshot", help="where to save the page (default: ./dashboard_test.png)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    if not args.portier or not args.whoami:
        ap.error("--portier and --whoami (or PORTIER_BIN, WHOAMI_BIN) are required")

    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="portier-dashboard-")
    whoami = portier = driver = None
    ok = False
    try:
        whoami = start([args.whoami, "--addr", "127.0.0.1:0", "--name", "dash"],
                       os.path.join(tmp, "whoami.log"))
        wport = wait_for_log(os.path.join(tmp, "whoami.log"),
                             r"whoami listening on 127\.0\.0\.1:([0-9]+)", whoami)
        whoami_url = f"http://127.0.0.1:{wport}"
        dyn = os.path.join(tmp, "dynamic.yml")
        with open(dyn, "w") as f:
            f.write(dynamic_yaml(whoami_url))
        cfg = os.path.join(tmp, "portier.yml")
        with open(cfg, "w") as f:
            f.write("entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
                    "  traefik:\n    address: \"127.0.0.1:0\"\n"
                    "api:\n  insecure: true\n  dashboardName: edge-a\n"
                    "providers:\n  file:\n    filename: dynamic.yml\n    watch: true\n")
        plog = os.path.join(tmp, "portier.log")
        portier = start([args.portier, f"--configFile={cfg}", "--workers=1"], plog)
        web = wait_for_log(plog, r'entrypoint listening" entrypoint=web address=127\.0\.0\.1:([0-9]+)',
                           portier)
        api = wait_for_log(plog, r'api listening" entrypoint=traefik address=127\.0\.0\.1:([0-9]+)',
                           portier)
        wait_for_log(plog, r"(configuration applied)", portier)

        profile = os.path.join(tmp, "profile")
        os.mkdir(profile)
        driver = make_driver(profile)
        driver.set_page_load_timeout(20)

        # Through a router to api@internal behind stripPrefix: /admin/dashboard redirects to
        # /admin/dashboard/ and the page reads ../api relative to it.
        check_page(driver, f"http://127.0.0.1:{web}/admin/dashboard")
        assert driver.current_url == f"http://127.0.0.1:{web}/admin/dashboard/", driver.current_url

        # On api.insecure's own listener.
        check_page(driver, f"http://127.0.0.1:{api}/dashboard/")

        # A new router appears without a reload (the marker would be gone after one).
        driver.execute_script("window.__portierTestMarker = 42;")
        with open(dyn + ".tmp", "w") as f:
            f.write(dynamic_yaml(whoami_url, extra_router=(
                "    added:\n      rule: \"Host(`added.localhost`)\"\n      service: whoami\n")))
        os.replace(dyn + ".tmp", dyn)
        added = poll_until("added@file without a reload",
                           lambda: router_state(driver, "added@file"))
        assert added[0] == "enabled", added
        assert driver.execute_script("return window.__portierTestMarker;") == 42, "page reloaded"
        counts = driver.find_element(By.CSS_SELECTOR, "#card-routers .counts").text
        assert counts.startswith("5"), counts

        # The filter hides rows that do not match.
        box = driver.find_element(By.ID, "filter")
        box.send_keys("broken")
        assert not row(driver, "routers", "whoami@file").is_displayed()
        assert row(driver, "routers", "broken@file").is_displayed()
        box.clear()
        box.send_keys(" ")  # an "input" event with an empty filter shows everything again
        poll_until("rows shown again", lambda: row(driver, "routers", "whoami@file").is_displayed())

        shot = os.path.abspath(args.screenshot or "dashboard_test.png")
        driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0);")
        driver.save_screenshot(shot)
        print(f"dashboard_test: screenshot {shot}")

        check_traffic_view(driver, f"http://127.0.0.1:{api}/dashboard/", int(web))

        # Nothing the page did made the browser log an error (CSP violations, failed requests,
        # script errors are all SEVERE).
        logs = driver.get_log("browser")
        severe = [e for e in logs if e.get("level") == "SEVERE"]
        assert not severe, f"browser console errors: {severe}"

        elapsed = time.monotonic() - started
        print(f"dashboard_test: ok in {elapsed:.1f} s")
        ok = True
    except Exception as e:  # report with the logs, then fail
        print(f"dashboard_test: FAILED: {e!r}", file=sys.stderr)
        for name in ("portier.log", "whoami.log", "chromedriver.log"):
            p = os.path.join(tmp, name)
            if os.path.exists(p):
                with open(p, encoding="utf-8", errors="replace") as f:
                    print(f"--- {name} (tail)\n" + "".join(f.readlines()[-40:]), file=sys.stderr)
    finally:
        if driver is not None:
            try:
                driver.quit()  # also stops chromedriver and its chromium
            except Exception as e:
                print(f"dashboard_test: quitting the browser: {e!r}", file=sys.stderr)
        stop(portier)
        stop(whoami)
        if args.keep or not ok:
            print(f"dashboard_test: files kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

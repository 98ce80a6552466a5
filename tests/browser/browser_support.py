"""What the browser tests share: processes started and stopped by PID, waiting on their logs,
and a headless Chromium driven by Selenium (Debian's chromium, chromium-driver and
python3-selenium; `tools/deps.sh test` installs them)."""

import os
import re
import shutil
import signal
import subprocess
import time

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service

DEADLINE_S = 15  # for anything a page must show


def wait_for_log(path, pattern, proc, timeout=10):
    """The first group of `pattern` once it appears in the log at `path`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with open(path, encoding="utf-8", errors="replace") as f:
            m = re.search(pattern, f.read())
        if m:
            return m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    with open(path, encoding="utf-8", errors="replace") as f:
        raise AssertionError(f"`{pattern}` not in {path}:\n{f.read()}")


def start(argv, log_path):
    log = open(log_path, "w")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop(proc):
    """SIGTERM by PID, then SIGKILL after a grace."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def poll_until(what, fn, timeout=DEADLINE_S):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            last = fn()
            if last:
                return last
        except WebDriverException as e:  # an element replaced between lookups
            last = e
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last})")


def make_driver(profile_dir):
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in [
        "--headless=new",
        "--no-sandbox",  # root in a container: no user namespaces for the sandbox
        "--disable-dev-shm-usage",  # a small /dev/shm (Docker's 64 MB) crashes renderers
        "--disable-gpu",
        f"--user-data-dir={profile_dir}",
        "--window-size=1280,1600",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",  # no internet here: nothing to call home to
        "--disable-component-update",
        "--disable-sync",
    ]:
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium then never tries to download one.
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver",
                      log_path=os.path.join(profile_dir, "..", "chromedriver.log"))
    return webdriver.Chrome(service=service, options=opts)

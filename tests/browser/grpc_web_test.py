#!/usr/bin/env python3
"""gRPC-Web from a real browser: headless Chromium on a page of one origin calls a real gRPC
server (Debian's python3-grpcio, tests/support/grpc_echo.py, by h2c) through portier's grpcWeb
middleware on another origin, with fetch() as gRPC-Web clients do. The browser enforces CORS
itself: the preflight, the allowed origin, the response fields it may read (grpc-status through
Access-Control-Expose-Headers).

Checks, from the allowed origin: a binary unary call, a -text server stream (five messages and
the trailer frame), an error status readable from the head or the trailer frame; from another
origin: the browser refuses to hand over the answer.

    grpc_web_test.py --portier build/src/app/portier

Exits 0 on success, 1 on a failure.
"""

import argparse
import json
import os
import shutil
import socket
import sys
import tempfile
import time

try:
    from browser_support import make_driver, start, stop, wait_for_log
except ImportError as e:  # not Debian's python3, or python3-selenium missing
    sys.exit(f"grpc_web_test: {e} (run tools/deps.sh test; use /usr/bin/python3)")

HERE = os.path.dirname(os.path.abspath(__file__))
ECHO = os.path.join(HERE, "..", "support", "grpc_echo.py")

# The page's client: what grpc-web's JavaScript sends (5-byte framed messages, X-Grpc-Web,
# base64 for -text) and a parser for what comes back (frames, the 0x80 trailer frame).
PAGE = """<!doctype html><meta charset="utf-8"><title>grpc-web test</title>
<script>
function frame(text) {
  const m = new TextEncoder().encode(text);
  const f = new Uint8Array(5 + m.length);
  new DataView(f.buffer).setUint32(1, m.length);
  f.set(m, 5);
  return f;
}
function unbase64(s) {
  // Padded pieces one after the other: decode each 4-character group on its own.
  const out = [];
  for (let i = 0; i + 4 <= s.length; i += 4) {
    const b = atob(s.substr(i, 4));
    for (let k = 0; k < b.length; ++k) out.push(b.charCodeAt(k));
  }
  return new Uint8Array(out);
}
function frames(bytes) {
  const r = {messages: [], trailers: ""};
  const dec = new TextDecoder();
  let at = 0;
  while (at + 5 <= bytes.length) {
    const n = new DataView(bytes.buffer, bytes.byteOffset + at).getUint32(1);
    const payload = dec.decode(bytes.subarray(at + 5, at + 5 + n));
    if (bytes[at] & 0x80) r.trailers += payload; else r.messages.push(payload);
    at += 5 + n;
  }
  return r;
}
async function call(url, method, message, text) {
  const body = frame(message);
  const init = {
    method: "POST",
    headers: {
      "Content-Type": text ? "application/grpc-web-text" : "application/grpc-web+proto",
      "Accept": text ? "application/grpc-web-text" : "application/grpc-web+proto",
      "X-Grpc-Web": "1",
      "X-User-Agent": "grpc-web-javascript/0.1",
    },
    body: text ? btoa(String.fromCharCode(...body)) : body,
  };
  let res;
  try {
    res = await fetch(url + "/echo.Echo/" + method, init);
  } catch (e) {
    return {blocked: String(e)};
  }
  const raw = text ? unbase64(await res.text()) : new Uint8Array(await res.arrayBuffer());
  const r = frames(raw);
  r.status = res.status;
  r.contentType = res.headers.get("content-type");
  r.grpcStatusHeader = res.headers.get("grpc-status");
  r.grpcMessageHeader = res.headers.get("grpc-message");
  return r;
}
</script>
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_call(driver, base, method, message, text):
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "call(arguments[0], arguments[1], arguments[2], arguments[3])"
        ".then(r => done(JSON.stringify(r)), e => done(JSON.stringify({error: String(e)})));",
        base, method, message, text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--portier", default=os.environ.get("PORTIER_BIN"))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    if not args.portier:
        ap.error("--portier (or PORTIER_BIN) is required")

    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="portier-grpcweb-")
    procs = []
    driver = None
    ok = False
    try:
        gport = free_port()
        server = start(["/usr/bin/python3", "-u", ECHO, "serve", str(gport)],
                       os.path.join(tmp, "grpc.log"))
        procs.append(server)
        wait_for_log(os.path.join(tmp, "grpc.log"), r"(listening on)", server, timeout=20)

        # Two page origins: the allowed one and another (a different port is another origin).
        pages = os.path.join(tmp, "pages")
        os.mkdir(pages)
        with open(os.path.join(pages, "index.html"), "w") as f:
            f.write(PAGE)
        allowed_port, other_port = free_port(), free_port()
        for port in (allowed_port, other_port):
            log = os.path.join(tmp, f"page-{port}.log")
            procs.append(start(["/usr/bin/python3", "-m", "http.server", str(port), "--bind",
                                "127.0.0.1", "--directory", pages], log))
        allowed = f"http://127.0.0.1:{allowed_port}"

        with open(os.path.join(tmp, "dynamic.yml"), "w") as f:
            f.write(f"""http:
  routers:
    grpc:
      rule: "PathPrefix(`/echo.Echo/`)"
      service: grpc
      middlewares: [web]
  middlewares:
    web:
      grpcWeb:
        allowOrigins: ["{allowed}"]
  services:
    grpc:
      loadBalancer:
        servers:
          - url: "h2c://127.0.0.1:{gport}"
""")
        cfg = os.path.join(tmp, "portier.yml")
        with open(cfg, "w") as f:
            f.write("entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
                    "providers:\n  file:\n    filename: dynamic.yml\n")
        plog = os.path.join(tmp, "portier.log")
        portier = start([args.portier, f"--configFile={cfg}", "--workers=1"], plog)
        procs.append(portier)
        web = wait_for_log(plog, r'entrypoint listening" entrypoint=web address=127\.0\.0\.1:([0-9]+)',
                           portier)
        wait_for_log(plog, r"(configuration applied)", portier)
        # localhost, not 127.0.0.1: the page's origin and portier's differ by host and port.
        base = f"http://localhost:{web}"

        profile = os.path.join(tmp, "profile")
        os.mkdir(profile)
        driver = make_driver(profile)
        driver.set_page_load_timeout(20)
        driver.set_script_timeout(20)

        for _ in range(50):  # the page servers may take a moment to listen
            try:
                driver.get(f"{allowed}/index.html")
                if driver.title == "grpc-web test":
                    break
            except Exception:
                pass
            time.sleep(0.1)
        assert driver.title == "grpc-web test", driver.title

        unary = json.loads(run_call(driver, base, "Unary", "browser", False))
        assert unary.get("status") == 200, unary
        assert unary["contentType"].startswith("application/grpc-web"), unary
        assert unary["messages"] == ["echo:browser"], unary
        assert "grpc-status: 0\r\n" in unary["trailers"], unary
        assert "x-trailer: unary-done\r\n" in unary["trailers"], unary

        stream = json.loads(run_call(driver, base, "ServerStream", "s", True))
        assert stream.get("status") == 200, stream
        assert stream["contentType"].startswith("application/grpc-web-text"), stream
        assert stream["messages"] == [f"s-{i}" for i in range(5)], stream
        assert "x-trailer: stream-done\r\n" in stream["trailers"], stream

        # The status of a failed call: in the head (a trailers-only answer; readable only
        # because Access-Control-Expose-Headers names it) or in the trailer frame.
        fail = json.loads(run_call(driver, base, "Fail", "x", False))
        assert fail.get("status") == 200, fail
        assert (fail["grpcStatusHeader"] == "5" or "grpc-status: 5\r\n" in fail["trailers"]), fail
        assert "no such thing: x" in ((fail["grpcMessageHeader"] or "") + fail["trailers"]), fail

        # Another origin: the server may answer, but the browser does not hand it over.
        driver.get(f"http://127.0.0.1:{other_port}/index.html")
        blocked = json.loads(run_call(driver, base, "Unary", "other", False))
        assert "blocked" in blocked, blocked

        print(f"grpc_web_test: ok in {time.monotonic() - started:.1f} s")
        ok = True
    except Exception as e:  # report with the logs, then fail
        print(f"grpc_web_test: FAILED: {e}", file=sys.stderr)
        for name in sorted(os.listdir(tmp)):
            if name.endswith(".log"):
                with open(os.path.join(tmp, name), errors="replace") as f:
                    print(f"--- {name}\n{f.read()[-4000:]}", file=sys.stderr)
    finally:
        if driver is not None:
            driver.quit()
        for p in procs:
            stop(p)
        if args.keep:
            print(f"grpc_web_test: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A ccache remote storage over HTTP (GET, PUT, DELETE), for compiles inside `docker build`:
the image test (tests/e2e/image_test.cc) starts it on a loopback port and passes
--build-arg CCACHE_REMOTE=http://127.0.0.1:PORT, so a compile in the image reuses the objects of
the last one (a legacy `docker build` cannot mount a cache directory). Loopback only.
  ccache_http.py DIR PORT
"""
import http.server
import os
import re
import sys

root, port = sys.argv[1], int(sys.argv[2])
os.makedirs(root, exist_ok=True)
KEY = re.compile(r"^/([0-9A-Za-z]{2})/([0-9A-Za-z]{8,128})$")  # ccache's "subdirs" layout


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as ccache uses it

    def path_of(self):
        m = KEY.match(self.path)
        return os.path.join(root, m.group(1), m.group(2)) if m else None

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        p = self.path_of()
        if p is None or not os.path.isfile(p):
            return self.answer(404)
        with open(p, "rb") as f:
            self.answer(200, f.read())

    do_HEAD = do_GET

    def do_PUT(self):
        p = self.path_of()
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if p is None:
            return self.answer(400)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p + ".tmp", "wb") as f:
            f.write(body)
        os.replace(p + ".tmp", p)
        self.answer(201)

    def do_DELETE(self):
        p = self.path_of()
        if p is not None and os.path.isfile(p):
            os.remove(p)
        self.answer(200)

    def log_message(self, *args):
        pass


print("ccache_http: listening on 127.0.0.1:%d" % port, flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()

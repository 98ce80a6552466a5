#!/usr/bin/env python3
"""What an idle connection costs portier: anonymous resident memory per connection.

    bench/idle_memory.py [--portier BIN] [--whoami BIN] [--kind plain|https|h2] [--conns N]

Starts whoami (build/tools/whoami/whoami) and portier (--workers=1) on free loopback ports, with
a fresh ECDSA P-256 certificate; warms portier up with 20 requests; reads RssAnon; opens N
connections of the kind asked for, each sending one request (HTTP/1.1, HTTP/1.1 over TLS, or
HTTP/2 over TLS with one stream) and reading its response; waits (--wait, 5 s: past the tick
that parks idle HTTP/1.1 connections and gives idle HTTP/2 ones' buffers back); reads RssAnon
again and prints the difference per connection. docs/performance.md uses it for the idle
memory figures. Loopback only; every wait is bounded. The numbers move by a few hundred kB
from run to run with where the heap starts: compare builds in pairs, alternately.
"""
import argparse
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def anon_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon"):
                return int(line.split()[1])
    raise RuntimeError("no RssAnon")


def wait_port(port, seconds=20):
    end = time.time() + seconds
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def read_http1(s):
    """Reads one HTTP/1.1 response with a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError("closed before the response head")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError("closed before the response body")
        body += chunk


def h2_frame(kind, flags, stream, payload):
    head = struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream)
    return head + payload


def read_h2(s):
    """Reads frames until stream 1 ends, then acknowledges the server's SETTINGS."""
    data = b""
    while True:
        while len(data) >= 9:
            length = int.from_bytes(data[:3], "big")
            if len(data) < 9 + length:
                break
            kind, flags = data[3], data[4]
            stream = int.from_bytes(data[5:9], "big") & 0x7FFFFFFF
            data = data[9 + length:]
            if stream == 1 and kind in (0, 1) and flags & 0x1:
                s.sendall(h2_frame(4, 1, 0, b""))
                return
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError("closed before the stream ended")
        data += chunk


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--portier", default=os.path.join(ROOT, "build/src/app/portier"))
    ap.add_argument("--whoami", default=os.path.join(ROOT, "build/tools/whoami/whoami"))
    ap.add_argument("--kind", choices=["plain", "https", "h2"], default="plain")
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--wait", type=float, default=5.0)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="idle-memory-")
    backend, web, secure = free_port(), free_port(), free_port()
    key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=bench.local",
                    "-addext", "subjectAltName=DNS:bench.local", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    with open(os.path.join(tmp, "static.yml"), "w") as f:
        f.write(f'entryPoints:\n  web: {{address: "127.0.0.1:{web}"}}\n'
                f'  websecure: {{address: "127.0.0.1:{secure}"}}\n'
                f'providers:\n  file: {{filename: "{tmp}/dynamic.yml"}}\n')
    with open(os.path.join(tmp, "dynamic.yml"), "w") as f:
        server = f"http://127.0.0.1:{backend}"
        f.write("http:\n  routers:\n"
                "    plain: {rule: \"PathPrefix(`/`)\", service: backend, entryPoints: [web]}\n"
                "    secure: {rule: \"PathPrefix(`/`)\", service: backend,"
                " entryPoints: [websecure], tls: {}}\n"
                "  services:\n"
                f"    backend: {{loadBalancer: {{servers: [{{url: \"{server}\"}}]}}}}\n"
                f"tls:\n  stores:\n    default: {{defaultCertificate: {{certFile: \"{cert}\","
                f" keyFile: \"{key}\"}}}}\n")
    procs = []
    try:
        procs.append(subprocess.Popen([args.whoami, "--addr", f"127.0.0.1:{backend}"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        portier = subprocess.Popen([args.portier, f"--configFile={tmp}/static.yml", "--workers=1",
                                    "--log.level=warn"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(portier)
        wait_port(backend)
        wait_port(web)
        wait_port(secure)

        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"] if args.kind == "h2" else ["http/1.1"])
        request = b"GET / HTTP/1.1\r\nHost: bench.local\r\n\r\n"
        h2_request = (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + h2_frame(4, 0, 0, b"") +
                      h2_frame(1, 5, 1, b"\x82\x87\x84\x41\x0bbench.local"))

        def connect():
            s = socket.create_connection(("127.0.0.1", web if args.kind == "plain" else secure),
                                         timeout=30)
            if args.kind != "plain":
                s = ctx.wrap_socket(s, server_hostname="bench.local")
            s.sendall(h2_request if args.kind == "h2" else request)
            return s

        def read(s):
            (read_h2 if args.kind == "h2" else read_http1)(s)

        for _ in range(20):
            s = connect()
            read(s)
            s.close()
        time.sleep(3)  # loading's memory released, the warm-up's connections gone
        before = anon_kb(portier.pid)
        conns = [connect() for _ in range(args.conns)]
        for s in conns:
            read(s)
        busy = anon_kb(portier.pid)
        time.sleep(args.wait)
        after = anon_kb(portier.pid)
        per = (after - before) / args.conns
        print(f"{os.path.basename(args.portier)} {args.kind} conns={args.conns} before={before} kB "
              f"busy={busy} kB idle={after} kB per_connection={per:.2f} kB")
        for s in conns:
            s.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)


if __name__ == "__main__":
    sys.exit(main())

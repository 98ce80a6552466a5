#!/usr/bin/env python3
"""Parses the output of `wrk --latency` (wrk 4.1), or of h2load (nghttp2 1.52) for the h2
scenario.

  wrk_parse.py FILE        one summary line for run.sh's progress log

parse() returns requests (the "N requests in" count), rps, p50_us, p99_us and errors, a dict of
the non-zero socket errors and non-2xx/3xx responses. A missing field raises ValueError: a
truncated run must not turn into a number in the table. parse_file() reads FILE; for h2load,
which prints no percentiles, they come from its per-request log (--log-file), FILE.requests.
"""
import re
import sys

# wrk prints latencies through format_time_us(): us, ms, s, then m and h past a minute.
UNIT_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def _search(pattern, text, what):
    m = re.search(pattern, text, re.MULTILINE)
    if not m:
        raise ValueError(f"wrk output has no {what}")
    return m


def _percentile_us(text, pct):
    m = _search(rf"^\s*{pct}(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, f"{pct}% latency")
    return float(m.group(1)) * UNIT_US[m.group(2)]


def parse(text):
    result = {
        "requests": int(_search(r"^\s*(\d+) requests in ", text, "request count").group(1)),
        "rps": float(_search(r"^Requests/sec:\s*([\d.]+)", text, "Requests/sec").group(1)),
        "p50_us": _percentile_us(text, 50),
        "p99_us": _percentile_us(text, 99),
        "errors": {},
    }
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        for kind, n in zip(("connect", "read", "write", "timeout"), m.groups()):
            if int(n):
                result["errors"][kind] = int(n)
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m and int(m.group(1)):
        result["errors"]["non-2xx/3xx"] = int(m.group(1))
    return result


def parse_h2load(text, requests_log):
    """h2load's summary, with percentiles from its --log-file (start, status, duration in us)."""
    done = _search(r"^requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                   r"(\d+) errored, (\d+) timeout", text, "request counts")
    rps = float(_search(r"^finished in [\d.]+m?s, ([\d.]+) req/s", text, "req/s").group(1))
    codes = _search(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text,
                    "status codes")
    durations = []
    with open(requests_log) as f:
        for line in f:
            parts = line.split("\t")
            if len(parts) == 3:
                durations.append(int(parts[2]))
    if not durations:
        raise ValueError("h2load's request log is empty")
    durations.sort()

    def pct(p):
        return float(durations[min(len(durations) - 1, int(len(durations) * p / 100))])

    result = {"requests": int(done.group(2)), "rps": rps, "p50_us": pct(50), "p99_us": pct(99),
              "errors": {}}
    for kind, n in zip(("failed", "errored", "timeout"), done.groups()[2:]):
        if int(n):
            result["errors"][kind] = int(n)
    non_ok = int(codes.group(3)) + int(codes.group(4))
    if non_ok:
        result["errors"]["non-2xx/3xx"] = non_ok
    return result


def parse_file(path):
    with open(path) as f:
        text = f.read()
    if re.search(r"^finished in ", text, re.MULTILINE):
        return parse_h2load(text, path + ".requests")
    return parse(text)


def format_errors(errors):
    return ", ".join(f"{kind} {n}" for kind, n in errors.items()) or "none"


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    r = parse_file(argv[1])
    print(f"{r['rps']:.0f} req/s, p50 {r['p50_us']:.0f} us, p99 {r['p99_us']:.0f} us, "
          f"errors: {format_errors(r['errors'])}")


if __name__ == "__main__":
    main(sys.argv)

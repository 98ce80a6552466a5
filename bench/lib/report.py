#!/usr/bin/env python3
"""Turns bench/run.sh's raw results into the Markdown tables of docs/performance.md.

  report.py CLK_TCK CONNS RESULTS_TSV RSS_TSV

RESULTS_TSV: proxy, scenario, round, CPU clock ticks used by the proxy, ticks the proxy's CPU
spent on other processes (neither proxy nor backend), % busy of wrk's CPU, path of wrk's output,
the part of the proxy's ticks spent in user mode (its system calls and the kernel's TCP work
on its behalf are the rest).
RSS_TSV: proxy, peak RSS in KiB. Rows keep run.sh's order, which is PROXIES' order.
Every cell is the median over rounds. Under each table: wrk errors summed over rounds (a proxy
that answers errors fast is not fast); other load on the proxy's CPU above OTHER_LOAD_WARN of a
round (that row measured the machine, not the proxy); a client CPU busier than
CLIENT_BUSY_WARN (req/s is then wrk's limit, not the proxy's).
"""
import csv
import statistics
import sys

from wrk_parse import format_errors, parse_file

SCENARIOS = {
    "keep-alive": "Keep-alive: {conns} connections, each reused for every request",
    "close": "New connection per request (`Connection: close`), {conns} concurrent",
    "tls-keep-alive": "HTTPS keep-alive: {conns} TLS connections, each reused for every request",
    "tls-handshake": "HTTPS, new connection per request: one full TLS handshake (TLS 1.3, "
                     "X25519, ECDSA P-256) per request, {conns} concurrent",
    "h2": "HTTP/2 over TLS (h2load -m10): {conns} connections, 10 streams in flight on each",
    "tcp": "TCP passthrough (L4: HAProxy `mode tcp`, a portier TCP router `HostSNI(`*`)`; "
           "Debian 12 has no nginx stream module): {conns} keep-alive HTTP connections piped "
           "to the backend",
    "tcp-close": "TCP passthrough, new connection per request: {conns} concurrent, each one "
                 "a new connection through the proxy to the backend",
}
# Idle, the proxy's CPU spends 3-6% of a round on neither proxy nor backend: steal, kworkers,
# ksoftirqd (partly the proxy's own network work). Above 10%, something else was running.
OTHER_LOAD_WARN = 0.10
CLIENT_BUSY_WARN = 90
HEADER = ("| proxy | req/s | p50 µs | p99 µs | CPU µs/req | of it user | peak RSS MiB "
          "| req/s ÷ nginx | CPU ÷ nginx |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|")


def load(clk_tck, results_path):
    """{scenario: {proxy: [per-round dict]}} in file order."""
    table = {}
    with open(results_path) as f:
        for proxy, scenario, _round, ticks, other, client, wrk_out, user in csv.reader(
                f, delimiter="\t"):
            r = parse_file(wrk_out)
            r["cpu_us_per_req"] = int(ticks) * 1e6 / clk_tck / r["requests"]
            r["user_us_per_req"] = int(user) * 1e6 / clk_tck / r["requests"]
            r["other_s"] = max(0, int(other)) / clk_tck
            r["duration_s"] = r["requests"] / r["rps"] if r["rps"] else 0
            r["client_busy"] = int(client)
            table.setdefault(scenario, {}).setdefault(proxy, []).append(r)
    return table


def summarize(rounds):
    med = {k: statistics.median(r[k] for r in rounds)
           for k in ("rps", "p50_us", "p99_us", "cpu_us_per_req", "user_us_per_req")}
    errors = {}
    for r in rounds:
        for kind, n in r["errors"].items():
            errors[kind] = errors.get(kind, 0) + n
    med["errors"] = errors
    med["other_load"] = max(r["other_s"] / r["duration_s"] if r["duration_s"] else 0
                            for r in rounds)
    med["client_busy"] = max(r["client_busy"] for r in rounds)
    return med


def ratio(value, base):
    return f"{value / base:.2f}" if base else "–"


def render(table, rss_mib, conns):
    out = []
    for scenario, proxies in table.items():
        rows = {proxy: summarize(rounds) for proxy, rounds in proxies.items()}
        base = rows.get("nginx")
        out += [f"### {SCENARIOS.get(scenario, scenario).format(conns=conns)}", "", HEADER]
        for proxy, m in rows.items():
            rss = rss_mib.get(proxy)
            out.append(
                f"| {proxy} | {m['rps']:.0f} | {m['p50_us']:.0f} | {m['p99_us']:.0f} "
                f"| {m['cpu_us_per_req']:.1f} | {m['user_us_per_req']:.1f} "
                f"| {'–' if rss is None else f'{rss:.1f}'} "
                f"| {ratio(m['rps'], base and base['rps'])} "
                f"| {ratio(m['cpu_us_per_req'], base and base['cpu_us_per_req'])} |")
        errors = [f"{p}: {format_errors(m['errors'])}" for p, m in rows.items() if m["errors"]]
        out += ["", "wrk errors (sum over rounds): " + ("; ".join(errors) or "none")]
        noisy = [f"{p} {m['other_load']:.0%}" for p, m in rows.items()
                 if m["other_load"] > OTHER_LOAD_WARN]
        if noisy:
            out += ["", "Warning: other processes used the proxy's CPU (worst round): "
                    + ", ".join(noisy) + ". Rerun on an idle machine."]
        saturated = [f"{p} {m['client_busy']}%" for p, m in rows.items()
                     if m["client_busy"] > CLIENT_BUSY_WARN]
        if saturated:
            out += ["", "Warning: wrk's CPU was saturated, by wrk or others (busiest round): "
                    + ", ".join(saturated) + ". req/s may be the client's limit; CPU µs/req "
                    "still compares."]
        out.append("")
    return "\n".join(out)


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__)
    clk_tck, conns, results_path, rss_path = int(argv[1]), argv[2], argv[3], argv[4]
    with open(rss_path) as f:
        rss_mib = {proxy: int(kib) / 1024 for proxy, kib in csv.reader(f, delimiter="\t")}
    print(render(load(clk_tck, results_path), rss_mib, conns))


if __name__ == "__main__":
    main(sys.argv)

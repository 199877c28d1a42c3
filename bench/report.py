"""The benchmark's figures as a plain table and as docs/benchmarks.md."""


def targets(f: dict) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each of the goals, all ratios from the same run."""
    flood = f["junk_flood"]
    valid = all(flood[mode]["valid_token_status"] == 200 for mode in ("token", "credentials"))
    hit_rate = f["rotation"]["10000"]["hit_rate"]
    return [
        (
            "cached /api/me/ ≥ 0.85 × the floor's req/s",
            f"{f['cached_against_floor']['ratio']:.2f}",
            f["cached_against_floor"]["ratio"] >= 0.85,
        ),
        (
            "credentials-mode cold first use ≤ 1.5 × token mode's",
            f"{f['cold_first_use']['ratio']:.2f}",
            f["cold_first_use"]["ratio"] <= 1.5,
        ),
        ("unknown-token flood, credentials ≥ 0.5 × token mode's req/s", f"{flood['ratio']:.2f}", flood["ratio"] >= 0.5),
        (
            "a valid new token works during the flood, in both modes",
            f"{flood['token']['valid_token_status']} / {flood['credentials']['valid_token_status']}",
            valid,
        ),
        (
            "a client-credentials token costs ≤ 3 introspection calls",
            f"{f['issue_against_introspect']['ratio']:.2f}",
            f["issue_against_introspect"]["ratio"] <= 3,
        ),
        ("hit rate with 10,000 tokens in rotation > 95%", f"{hit_rate:.1%}", hit_rate > 0.95),
    ]


def rows(f: dict) -> list[tuple[str, str, str, str]]:
    """(measurement, req/s, p50 ms, p99 ms)."""

    def load(name, r):
        return (name, f"{r['requests_per_second']:,.0f}", f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}")

    c, cold, flood, issue = (
        f["cached_against_floor"],
        f["cold_first_use"],
        f["junk_flood"],
        f["issue_against_introspect"],
    )
    table = [
        load("1. floor: GET /api/hello/, no token", c["floor"]),
        load("1. GET /api/me/, cached token", c["cached_me"]),
        ("1. ratio cached / floor", f"{c['ratio']:.2f}", "", ""),
        ("2. cold first use, token mode", "", f"{cold['token']['median_ms']:.2f}", ""),
        ("2. cold first use, credentials mode", "", f"{cold['credentials']['median_ms']:.2f}", ""),
        ("2. ratio credentials / token", f"{cold['ratio']:.2f}", "", ""),
        load("3. unknown tokens, token mode", flood["token"]),
        load("3. unknown tokens, credentials mode", flood["credentials"]),
        ("3. ratio credentials / token", f"{flood['ratio']:.2f}", "", ""),
        (
            "3. valid new token during the flood (token, credentials)",
            f"{flood['token']['valid_token_status']}, {flood['credentials']['valid_token_status']}",
            f"{flood['token']['valid_token_ms']:.0f}, {flood['credentials']['valid_token_ms']:.0f}",
            "",
        ),
        load("4. POST /o/token/ (client credentials)", issue["issue"]),
        load("4. POST /o/introspect/ (RS credentials)", issue["introspect"]),
        ("4. introspection calls per issued token", f"{issue['ratio']:.2f}", "", ""),
    ]
    table += [load(f"5. GET /api/me/ cached, {c_} connections", r) for c_, r in f["scaling"].items()]
    table += [
        (
            f"5. {int(n):,} tokens in rotation: hit rate {r['hit_rate']:.1%}, RS {r['rss_mb']:.0f} MB",
            f"{r['requests_per_second']:,.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
        )
        for n, r in f["rotation"].items()
    ]
    return table


def table(f: dict) -> str:
    lines = [f"{'measurement':<62} {'req/s':>10} {'p50 ms':>10} {'p99 ms':>10}"]
    lines += [f"{a:<62} {b:>10} {c:>10} {d:>10}" for a, b, c, d in rows(f)]
    lines.append("")
    lines += [f"{'met ' if met else 'MISSED'}  {name}: {value}" for name, value, met in targets(f)]
    return "\n".join(lines)


def markdown(f: dict) -> str:
    m, s = f["machine"], f["setup"]
    scaling = f["scaling"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run.py`); every figure below comes from one run of it.",
        "The machine is shared and noisy, so read the ratios, not the absolute numbers.",
        "",
        f"- Run: {f['date']}, {s['seconds_per_run']:g} s per load run, load from {s['load_generator']}",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['system']}, Python {m['python']}",
        f"- Stack: production settings, {s['gunicorn']}, {s['database']} databases, "
        f"{s['token_cache']} token cache; the load generator runs on the same machine",
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "|---|---:|---|",
    ]
    lines += [f"| {name} | {value} | {'met' if met else '**missed**'} |" for name, value, met in targets(f)]
    lines += ["", "## Figures", "", "| measurement | req/s | p50 ms | p99 ms |", "|---|---:|---:|---:|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows(f)]
    labels = ", ".join(f'"{c}"' for c in scaling)
    values = ", ".join(f"{r['requests_per_second']:.0f}" for r in scaling.values())
    rotation = f["rotation"]
    lines += [
        "",
        "## Cached `/api/me/` against connections",
        "",
        "```mermaid",
        "xychart-beta",
        '    title "GET /api/me/ with a cached token"',
        f'    x-axis "connections" [{labels}]',
        '    y-axis "requests per second"',
        f"    bar [{values}]",
        "```",
        "",
        "## Distinct tokens in rotation",
        "",
        "```mermaid",
        "xychart-beta",
        '    title "Cache hit rate (%) after warm-up"',
        '    x-axis "distinct active tokens" [' + ", ".join(f'"{int(n):,}"' for n in rotation) + "]",
        '    y-axis "hit rate %" 0 --> 100',
        "    bar [" + ", ".join(f"{r['hit_rate'] * 100:.1f}" for r in rotation.values()) + "]",
        "```",
        "",
        "Resident memory of the resource server (gunicorn master and workers) after each run: "
        + ", ".join(f"{int(n):,} tokens: {r['rss_mb']:.0f} MB" for n, r in rotation.items())
        + ".",
        "",
    ]
    return "\n".join(lines)

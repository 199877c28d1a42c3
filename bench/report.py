"""The benchmark's figures as a plain table and as docs/benchmarks.md."""

STACKS = {"embedded": "embedded (SQLite, cache directory)", "compose": "Compose-like (PostgreSQL, Redis)"}
LAYERS = {
    "local": "GET /api/me/, cached as shipped (per-process layer)",
    "shared": "GET /api/me/, shared cache only (local layer off)",
    "miss": "GET /api/me/, every request introspected",
}
SETUPS = {
    "embedded": "{workers} workers, one RS, cache directory",
    "compose": "{replicas} replicas x 2 workers, one Redis",
}


NOTICES = "a revocation pushed every {interval:g} s"
EVENTS = {
    "revocation": "access token revoked (RFC 7009)",
    "account_disabled": "user deactivated",
    "credential_change": "client secret rotated",
}


def worst(counts: list[int]) -> int:
    """The most introspection calls one caching window cost (0: none at all, which is no measurement)."""
    return max(counts, default=0)


def targets(f: dict) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for each of the goals, all ratios from the same run; met is None when skipped."""
    result = []
    for name, hot in f["hot_path"].items():
        goal = f"cached /api/me/ ≥ 0.85 × the floor's req/s, {STACKS[name]}"
        if "skipped" in hot:
            result.append((goal, f"skipped: {hot['skipped']}", None))
        else:
            result.append((goal, f"{hot['ratios']['local']:.2f}", hot["ratios"]["local"] >= 0.85))
    for name, counted in f["introspections"].items():
        if name == "window_seconds":
            continue
        if "skipped" in counted:
            result.append((f"one introspection per token per window, {STACKS[name]}", "skipped", None))
            continue
        setup = SETUPS[name].format(**counted)
        for phase, label in (("one_by_one", "one request at a time"), ("under_load", "under load")):
            counts = counted[phase]["per_window"]
            result.append(
                (f"one introspection per token per window, {setup}, {label}", f"{worst(counts)}", worst(counts) == 1)
            )
    for name, cost in f["notice_cost"].items():
        interval = cost.get("notices", {}).get("interval_seconds", 0)
        goal = f"cached /api/me/ ≥ 0.85 × the floor's req/s, {NOTICES.format(interval=interval)}, {STACKS[name]}"
        if "skipped" in cost:
            result.append((goal, f"skipped: {cost['skipped']}", None))
        else:
            ratio = cost["ratios"]["cached_notices"]
            result.append((goal, f"{ratio:.2f}", ratio >= 0.85 and not cost["notices"]["failures"]))
    for name, spread in f["propagation"].items():
        if "skipped" in spread:
            result.append(
                (f"a revoked token refused by every worker within 1 s (p99), {STACKS[name]}", "skipped", None)
            )
            continue
        revoked = spread["revocation"]
        goal = (
            f"a revoked token refused by every worker within 1 s (p99), {SETUPS[name].format(**spread)}, "
            f"under steady load ({background_share(spread):.0%} of the cached capacity)"
        )
        if revoked["failures"]:
            result.append((goal, f"{len(revoked['failures'])} of {spread['rounds']} failed", False))
        else:
            result.append((goal, f"{revoked['p99_ms']:.0f} ms", revoked["p99_ms"] < 1000))
    if "signed_introspection" in f:  # absent from figures written before it was measured
        ratio = f["signed_introspection"]["ratio"]
        result.append(("signed cold introspection costs ≤ 1.3 × a plain one", f"{ratio:.2f}", ratio <= 1.3))
    flood = f["junk_flood"]
    valid = all(flood[mode]["valid_token_status"] == 200 for mode in ("token", "credentials"))
    most = max(f["rotation"], key=int)
    hit_rate = f["rotation"][most]["hit_rate"]
    return [
        *result,
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
        (f"hit rate with {int(most):,} tokens in rotation > 95%", f"{hit_rate:.1%}", hit_rate > 0.95),
    ]


def load(name: str, r: dict, *more: str) -> tuple[str, ...]:
    return (name, f"{r['requests_per_second']:,.0f}", f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", *more)


def failed(r: dict) -> str:
    """A load run's failed requests, named beside its figures (they do not count as served)."""
    return f" ({r['errors']:,} failed)" if r["errors"] else ""


def hot_path_rows(f: dict) -> list[tuple[str, ...]]:
    """(stack and measurement, req/s, p50 ms, p99 ms, ÷ floor)."""
    table = []
    for name, hot in f["hot_path"].items():
        if "skipped" in hot:
            table.append((f"{STACKS[name]}: skipped, {hot['skipped']}", "", "", "", ""))
            continue
        table.append(load(f"{STACKS[name]}: GET /api/hello/, no token (the floor)", hot["floor"], "1.00"))
        table += [
            load(f"{STACKS[name]}: {label}{failed(hot[layer])}", hot[layer], f"{hot['ratios'][layer]:.2f}")
            for layer, label in LAYERS.items()
        ]
    return table


def hit_cost_rows(f: dict) -> list[tuple[str, ...]]:
    """(stack, per-process layer µs, shared cache µs, introspection µs) for one cache.get() or one call."""
    return [
        (STACKS[name], "skipped", "", "")
        if "skipped" in cost
        else (STACKS[name], f"{cost['local_us']:.1f}", f"{cost['shared_us']:.1f}", f"{cost['miss_us']:,.0f}")
        for name, cost in f["hit_cost"].items()
    ]


def introspection_rows(f: dict) -> list[tuple[str, ...]]:
    """(setup, requests one at a time, workers reached, calls per window, requests under load, calls per window)."""
    table = []
    for name, counted in f["introspections"].items():
        if name == "window_seconds":
            continue
        if "skipped" in counted:
            table.append((STACKS[name], "skipped", "", "", "", ""))
            continue
        one, loaded = counted["one_by_one"], counted["under_load"]
        table.append(
            (
                SETUPS[name].format(**counted),
                f"{one['requests']}",
                f"{one['workers_reached']} of {counted['workers']}",
                ", ".join(map(str, one["per_window"])),
                f"{loaded['requests']:,} in {loaded['seconds']:g} s",
                ", ".join(map(str, loaded["per_window"])),
            )
        )
    return table


def other_rows(f: dict) -> list[tuple[str, ...]]:
    """(measurement, req/s, p50 ms, p99 ms), on the embedded stack."""
    cold, flood, issue = f["cold_first_use"], f["junk_flood"], f["issue_against_introspect"]
    table = [
        ("4. cold first use, token mode", "", f"{cold['token']['median_ms']:.2f}", ""),
        ("4. cold first use, credentials mode", "", f"{cold['credentials']['median_ms']:.2f}", ""),
        ("4. ratio credentials / token", f"{cold['ratio']:.2f}", "", ""),
        load("5. unknown tokens, token mode", flood["token"]),
        load("5. unknown tokens, credentials mode", flood["credentials"]),
        ("5. ratio credentials / token", f"{flood['ratio']:.2f}", "", ""),
        (
            "5. valid new token during the flood (token, credentials)",
            f"{flood['token']['valid_token_status']}, {flood['credentials']['valid_token_status']}",
            f"{flood['token']['valid_token_ms']:.0f}, {flood['credentials']['valid_token_ms']:.0f}",
            "",
        ),
        load("6. POST /o/token/ (client credentials)", issue["issue"]),
        load("6. POST /o/introspect/ (RS credentials)", issue["introspect"]),
        ("6. introspection calls per issued token", f"{issue['ratio']:.2f}", "", ""),
    ]
    table += [load(f"7. GET /api/me/ cached, {c_} connections", r) for c_, r in f["scaling"].items()]
    table += [
        (
            f"7. {int(n):,} tokens in rotation: hit rate {r['hit_rate']:.1%}, RS {r['rss_mb']:.0f} MB",
            f"{r['requests_per_second']:,.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
        )
        for n, r in f["rotation"].items()
    ]
    return table


SIGNED_ANSWERS = {"plain": "plain JSON answers", "signed": "signed answers (RFC 9701)"}


def signed_rows(f: dict) -> list[tuple[str, ...]]:
    """(measurement, req/s, p50 ms, p99 ms), every request introspected, on the embedded stack."""
    if "signed_introspection" not in f:
        return []
    signed = f["signed_introspection"]
    return [
        *(
            load(f"10. GET /api/me/, every request introspected, {label}{failed(signed[answers])}", signed[answers])
            for answers, label in SIGNED_ANSWERS.items()
        ),
        ("10. cost of a signed answer ÷ a plain one (plain req/s ÷ signed)", f"{signed['ratio']:.2f}", "", ""),
    ]


def background_share(spread: dict) -> float:
    """The steady load the replicas served, as a share of the stack's cached capacity (section 1)."""
    return spread["revocation"]["background"]["requests_per_second"] / spread["capacity"]


def milliseconds(value: float | None) -> str:
    return "lost" if value is None else f"{value:,.0f}"


def revocation_row(label: str, revoked: dict) -> tuple[str, ...]:
    failed = f", {len(revoked['failures'])} failed: {revoked['failures'][0]}" if revoked["failures"] else ""
    if not revoked["every_ms"]:
        return (f"{label}{failed}", "0", "", "", "", "")
    first = sorted(revoked["first_ms"])
    return (
        f"{label}{failed}",
        f"{len(revoked['every_ms'])}",
        milliseconds(revoked["p50_ms"]),
        milliseconds(revoked["p99_ms"]),
        milliseconds(revoked["max_ms"]),
        milliseconds(first[(len(first) - 1) // 2]),
    )


def propagation_rows(f: dict) -> list[tuple[str, ...]]:
    """(setup: change, load, times, p50 ms, p99 ms, max ms, quickest worker p50 ms)."""
    table = []
    for name, spread in f["propagation"].items():
        if "skipped" in spread:
            table.append((f"{STACKS[name]}: skipped, {spread['skipped']}", "", "", "", "", ""))
            continue
        setup = SETUPS[name].format(**spread)
        steady = (
            f"steady load {spread['revocation']['background']['requests_per_second']:,.0f} req/s "
            f"({background_share(spread):.0%})"
        )
        table.append(revocation_row(f"{setup}, {steady}: {EVENTS['revocation']}", spread["revocation"]))
        for event in ("account_disabled", "credential_change"):
            once = spread[event]
            label = f"{setup}, {steady}: {EVENTS[event]}" + (
                f", failed: {once['failure']}" if "failure" in once else ""
            )
            table.append((label, "1", milliseconds(once["every_ms"]), "", "", milliseconds(once["first_ms"])))
        saturated = spread["revocation_saturated"]
        table.append(
            revocation_row(
                f"{setup}, saturated {saturated['background']['requests_per_second']:,.0f} req/s: "
                f"{EVENTS['revocation']}",
                saturated,
            )
        )
    return table


def notice_rows(f: dict) -> list[tuple[str, ...]]:
    """(stack: measurement, req/s, p50 ms, p99 ms, ÷ floor), the floor being the one under the same notices."""
    table = []
    for name, cost in f["notice_cost"].items():
        if "skipped" in cost:
            table.append((f"{STACKS[name]}: skipped, {cost['skipped']}", "", "", "", ""))
            continue
        notices = NOTICES.format(interval=cost["notices"]["interval_seconds"])
        table += [
            load(f"{STACKS[name]}: GET /api/hello/, no token (the floor), no notice", cost["floor"], "1.00"),
            load(f"{STACKS[name]}: GET /api/me/, cached, no notice", cost["cached"], f"{cost['ratios']['cached']:.2f}"),
            load(f"{STACKS[name]}: GET /api/hello/ (the floor), {notices}", cost["floor_notices"], "1.00"),
            load(
                f"{STACKS[name]}: GET /api/me/, cached, {notices}",
                cost["cached_notices"],
                f"{cost['ratios']['cached_notices']:.2f}",
            ),
        ]
    return table


def notice_summaries(f: dict) -> list[str]:
    """One sentence per stack: how many notices, and what they cost cached /api/me/."""
    return [
        f"{STACKS[name]}: {cost['notices']['sent']:,} revocations pushed, "
        f"{cost['notices']['per_second']:.1f} a second while they flowed; cached /api/me/ with them "
        f"at {cost['ratios']['notices_against_none']:.2f} × its req/s without"
        + (
            f"; {len(cost['notices']['failures'])} failed: {cost['notices']['failures'][0]}"
            if cost["notices"]["failures"]
            else ""
        )
        + "."
        for name, cost in f["notice_cost"].items()
        if "skipped" not in cost
    ]


def verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "skip"}[met]


def table(f: dict) -> str:
    def plain(rows, widths):
        return [
            " ".join(
                f"{cell:<{w}}" if i == 0 else f"{cell:>{w}}"
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
            for row in rows
        ]

    lines = plain([("1. hot path", "req/s", "p50 ms", "p99 ms", "÷ floor"), *hot_path_rows(f)], (90, 9, 8, 8, 8))
    lines += ["", *plain([("2. one cache hit, µs", "local", "shared", "miss"), *hit_cost_rows(f)], (42, 9, 9, 9))]
    window = f["introspections"]["window_seconds"]
    lines += [
        "",
        *plain(
            [
                (f"3. introspections ({window} s window)", "sent", "workers", "per window", "under load", "per window"),
                *introspection_rows(f),
            ],
            (42, 6, 8, 12, 18, 14),
        ),
    ]
    lines += [
        "",
        *plain([("measurement", "req/s", "p50 ms", "p99 ms"), *other_rows(f), *signed_rows(f)], (70, 10, 10, 10)),
    ]
    lines += [
        "",
        *plain(
            [
                ("8. revocation to a 401 at every worker", "times", "p50 ms", "p99 ms", "max ms", "quickest"),
                *propagation_rows(f),
            ],
            (100, 6, 8, 8, 8, 9),
        ),
    ]
    lines += [
        "",
        *plain(
            [("9. hot path under notices", "req/s", "p50 ms", "p99 ms", "÷ floor"), *notice_rows(f)], (90, 9, 8, 8, 8)
        ),
        *notice_summaries(f),
    ]
    lines.append("")
    lines += [f"{verdict(met):<6}  {name}: {value}" for name, value, met in targets(f)]
    return "\n".join(lines)


def markdown(f: dict) -> str:
    m, s = f["machine"], f["setup"]
    scaling = f["scaling"]
    window = f["introspections"]["window_seconds"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run.py`); every figure below comes from one run of it.",
        "The machine is shared and noisy, so read the ratios, not the absolute numbers.",
        "The Compose-like stack runs what `docker compose up` runs (PostgreSQL databases, the token",
        "cache in Redis through RS_CACHE_URL) as host processes, without Docker or the proxy, so that",
        "both stacks are measured alike.",
        "",
        f"- Run: {f['date']}, {s['seconds_per_run']:g} s per load run, load from {s['load_generator']}, "
        f"{f['duration_seconds']} s in all",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['system']}, Python {m['python']}"
        + (f"; load average {m['load_average']:g} as the run started" if "load_average" in m else ""),
        f"- Servers: production settings, {s['gunicorn']}; the load generator runs on the same machine",
        *(f"- Stack {STACKS[name]}: {text}" for name, text in s["stacks"].items()),
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "|---|---:|---|",
    ]
    lines += [
        f"| {name} | {value} | {'met' if met else 'skipped' if met is None else '**missed**'} |"
        for name, value, met in targets(f)
    ]
    lines += [
        "",
        "## 1. The hot path on each stack",
        "",
        "The same API, as shipped and with the token cache's layers turned off one by one (replicas of",
        "the API on the same stack, sharing its token cache). The floor and the two cached runs",
        "alternate, round after round, and each keeps its best; the miss runs once.",
        "",
        "| stack: measurement | req/s | p50 ms | p99 ms | ÷ floor |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in hot_path_rows(f)]
    lines += [
        "",
        "## 2. One cache hit through each layer",
        "",
        "`introspection.cache.get()` on a hit, timed in the RS's `manage.py shell` with its production",
        "settings (median of 5 × 1,000 calls); a miss costs an introspection call to the AS instead",
        "(median of 20).",
        "",
        "| stack | per-process layer, µs | shared cache only, µs | miss (introspection), µs |",
        "|---|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in hit_cost_rows(f)]
    lines += [
        "",
        "## 3. Introspections per token per caching window",
        "",
        f"Caching window {window} s. One token, each request on a new connection, round the replicas until",
        "every worker has answered twice (one request at a time); then another token from 8 connections",
        "per replica at once (under load). The AS's introspection calls are counted by a relay in front",
        "of it, and grouped into windows: a window opens with a call and lasts the caching window.",
        "Under load, the requests that find no answer at a window's start wait for one introspection (single flight).",
        "",
        "| setup | requests one at a time | workers reached | calls per window | requests under load "
        "| calls per window |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in introspection_rows(f)]
    lines += [
        "",
        "## Other figures (embedded stack)",
        "",
        "| measurement | req/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in other_rows(f)]
    lines += [
        "",
        "## 8. Revocation reaching every worker of every replica",
        "",
        "A token that every worker of every replica has just answered, so has cached, is revoked at",
        "the AS (RFC 7009, by its client) while the replicas serve another token. Each worker is",
        "polled with the revoked token in a tight loop, in a thread of its own, on a keep-alive",
        "connection that worker accepted. Measured: from the AS's answer to the revocation to the",
        "first 401 at every worker, the slowest of them (p50, and p99 by nearest rank: with 20",
        "revocations the p99 is the largest), and the quickest worker's p50. The AS notifies the",
        "replica it registered (RFC 8935); the others learn it through the shared cache.",
        "",
        "The target is judged under steady load: 8 connections per replica, each pausing between an",
        "answer and its next request so as to ask for half the stack's cached capacity (section 1);",
        "each row shows what they got and its share of that capacity (slower answers lower it). One",
        "revocation before those counted warms each worker's own introspection client. Then once each,",
        "under the same load, a user deactivated and a client secret rotated (through the models, in",
        "the AS's shell, timed from the save; that shell's first notice is sent beforehand). Last,",
        "revocations with the replicas serving 4 connections each as fast as they can, the machine's",
        "cores saturated: the 401 then waits on the introspection call the worker makes to the AS,",
        "which shares those cores. A worker that never refuses the token counts as lost, the failure",
        "named in the row.",
        "",
        "| setup: change | times | p50 ms | p99 ms | max ms | quickest worker, p50 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in propagation_rows(f)]
    lines += [
        "",
        "## 9. The hot path while revocation notices flow",
        "",
        "The AS revokes another token (one this API never saw) at a steady pace and pushes each",
        "notice to the API, which records it in its shared cache and every worker applies it. The",
        "floor and cached `/api/me/` run without notices and with them, alternating, each keeping its",
        "best; each ratio is to the floor measured under the same notices (the AS shares the",
        "machine, so its work of revoking and signing slows the floor too).",
        "",
        "| stack: measurement | req/s | p50 ms | p99 ms | ÷ floor |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in notice_rows(f)]
    lines += ["", *(f"- {sentence}" for sentence in notice_summaries(f))]
    if "signed_introspection" in f:
        lines += [
            "",
            "## 10. Signed introspection answers",
            "",
            "Two APIs on the embedded stack with no token cache at all (RESOURCE_SERVER_TOKEN_CACHING_SECONDS",
            "and RESOURCE_SERVER_LOCAL_CACHE_SECONDS 0), so that every request is an introspection call:",
            "one asks the AS for signed answers (RESOURCE_SERVER_INTROSPECTION_SIGNED, RFC 9701), which the",
            "AS signs with its OpenID Connect key (RS256) and the API verifies; the other asks for plain",
            "JSON. Same AS, same token, alternating round after round, each keeping its best. A cached",
            "answer costs the same either way: what is cached is the verified answer.",
            "",
            "| measurement | req/s | p50 ms | p99 ms |",
            "|---|---:|---:|---:|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in signed_rows(f)]
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

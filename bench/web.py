"""The API under wrk: each endpoint against gunicorn (2 workers, ``config.settings.bench``), next to the plain
Django JSON view ``/bench/ping/`` (bench/urls.py: no DRF, no authentication, no database) measured under the
same gunicorn, with the same wrk settings, in the same run — the HTTP ceiling."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from bench.common import BENCH_PASSWORD, WRK_DIR, BenchFailure, log
from bench.procs import free_port, http_call, start_gunicorn
from bench.profiling import PySpy, summarize_stacks

PING_PATH = "/bench/ping/"


def run_wrk(url: str, script: str, env: dict, duration: int, connections: int, threads: int) -> dict:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(WRK_DIR / script),
        url,
    ]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + 60)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise BenchFailure(
            f"wrk failed ({result.returncode}): {result.stdout[-2000:]} {result.stderr[-2000:]}"
        )
    data = json.loads(line[len("BENCH_JSON ") :])
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["errors"] = data["non2xx"] + data["socket_errors"] + data["timeouts"]
    return data


def http_phase(args, env: dict, tmp: Path, profiles: dict) -> dict:
    from django.contrib.auth import get_user_model

    from partnerships.models import Initiative
    from scoring.choices import CriterionSource
    from scoring.models import Criterion
    from scoring.services.compute import published_version_ids_by_pillar

    user = get_user_model().objects.get(username="bench_author")  # analyst of the bench bank (generator)
    user.set_password(BENCH_PASSWORD)
    user.save(update_fields=["password"])
    ids = list(Initiative.objects.order_by("id").values_list("id", "pillar_id"))
    iid, pillar = ids[len(ids) // 2]
    version_id = published_version_ids_by_pillar()[pillar]
    ratings = {
        key: (lo + hi) // 2
        for key, lo, hi in Criterion.objects.filter(
            version_id=version_id, source=CriterionSource.RATED
        ).values_list("key", "scale_min", "scale_max")
    }
    preview_body = tmp / "preview.json"
    preview_body.write_text(json.dumps({"initiative": iid, "ratings": ratings}))
    score_body = tmp / "score.json"
    score_body.write_text("{}")

    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = start_gunicorn(env, tmp / "gunicorn.log", port)
    try:
        status, body = http_call(
            f"{base}/api/v1/auth/token/",
            method="POST",
            body={"username": "bench_author", "password": BENCH_PASSWORD},
        )
        if status != 200:
            raise BenchFailure(f"token: {status} {body[:500]!r}")
        token = json.loads(body)["token"]
        endpoints = [
            ("ping", "GET", PING_PATH, None),
            ("detail", "GET", f"/api/v1/initiatives/{iid}/", None),
            ("list", "GET", "/api/v1/initiatives/?pagination=cursor&page_size=50", None),
            ("preview", "POST", "/api/v1/scoring/preview/", preview_body),
            ("score", "POST", f"/api/v1/initiatives/{iid}/score/", score_body),
            # The ceiling again at the end: on a shared machine its rate moved by half between runs; the
            # endpoints are compared with the mean of the two (bench/run.py, http_rows).
            ("ping_after", "GET", PING_PATH, None),
        ]
        results = {}
        for name, method, path, body_file in endpoints:
            payload = json.loads(body_file.read_text()) if body_file else None
            status, body = http_call(f"{base}{path}", method=method, token=token, body=payload)
            if not 200 <= status < 300:
                raise BenchFailure(f"{method} {path}: {status} {body[:800]!r}")
            if name == "list" and len(json.loads(body)["results"]) != 50:
                raise BenchFailure(f"list answered {len(json.loads(body)['results'])} rows, not 50")
            wrk_env = dict(os.environ, BENCH_TOKEN=token, BENCH_BODY_FILE=str(body_file or ""))
            script = "post.lua" if method == "POST" else "get.lua"
            log(f"wrk {method} {path}: {args.http_warmup} s warm-up, {args.http_duration} s measured")
            run_wrk(f"{base}{path}", script, wrk_env, args.http_warmup, 32, 2)
            if args.profile:
                spy_out = args.profile / f"gunicorn-{name}.txt"
                with PySpy(gunicorn.pid, spy_out, "gunicorn"):
                    results[name] = run_wrk(f"{base}{path}", script, wrk_env, args.http_duration, 32, 2)
                profiles[f"gunicorn workers, {method} {path}"] = summarize_stacks(spy_out)
            else:
                results[name] = run_wrk(f"{base}{path}", script, wrk_env, args.http_duration, 32, 2)
            results[name].update(method=method, path=path)
            r = results[name]
            log(
                f"  {r['rps']:,.0f} req/s, p50 {r['p50_us'] / 1000:.1f} ms, p99 {r['p99_us'] / 1000:.1f} ms, "
                f"non-2xx {r['non2xx']}, socket errors {r['socket_errors']}, timeouts {r['timeouts']}"
            )
    finally:
        gunicorn.stop()
    return results


def ping_rate(base: str, duration: int, connections: int, threads: int, *, warmup: int = 1) -> dict:
    """The plain view's rate and latencies under the given gunicorn (``base``), after a short warm-up."""
    env = dict(os.environ, BENCH_TOKEN="", BENCH_BODY_FILE="")
    if warmup:
        run_wrk(f"{base}{PING_PATH}", "get.lua", env, warmup, connections, threads)
    return run_wrk(f"{base}{PING_PATH}", "get.lua", env, duration, connections, threads)

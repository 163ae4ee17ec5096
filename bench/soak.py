"""The soak (`make soak`): `make run`'s three processes on the embedded default for an hour of real work.

    python -m bench.soak                       # make soak: 60 minutes
    python -m bench.soak --minutes 10          # shorter
    python -m bench.soak --minutes 60 --write-doc docs/reliability.md

What runs: the Procfile (web, worker, beat) through honcho exactly as `make run` starts it, on a SQLite file and
the filesystem broker in a temporary SCORECARD_VAR_DIR (no PostgreSQL, no Redis), migrated and seeded with the
demo data. beat runs its own schedule (the score-job sweeper every minute) plus a report for the demo bank every
20 seconds. Through the API, for the whole run:

* the analyst asks for a score of a demo initiative once a second (``POST initiatives/{id}/score/``);
* every 15 seconds the analyst opens an assessment of an initiative, rates every rated criterion, submits it, and
  the manager approves it (a score job of its own).

It passes when no process died (honcho still running all three at the end, no ``CRITICAL`` / ``Unrecoverable``
line in their log), no request failed (every answer 2xx, no socket error), and every score job the API accepted
finished ``succeeded`` within --drain seconds after the clients stop; reports generated are counted. Run it while
the machine is busy (the issue asks for the test suite alongside); the figures printed say what the load was.
With --write-doc the figures replace the block between ``<!-- soak:begin -->`` and ``<!-- soak:end -->``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.run import ROOT, Proc, free_port, log

PASSWORD = "soak-demo-password-not-a-secret"
BEGIN, END = "<!-- soak:begin -->", "<!-- soak:end -->"
FATAL = re.compile(r"CRITICAL|Unrecoverable|exited with code")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--drain", type=float, default=300.0, help="seconds for accepted jobs to finish")
    parser.add_argument("--write-doc", type=Path, default=None)
    return parser.parse_args(argv)


def embedded_env(var: Path, port: int) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        SCORECARD_VAR_DIR=str(var),
        SCORECARD_DEMO_PASSWORD=PASSWORD,
        WEB_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    return env


# demo_manager's authenticator in the soak's own database, and the code it shows now (partnerships.signon).
MANAGER_CODE = (
    "from django.contrib.auth import get_user_model; "
    "from django_otp.plugins.otp_totp.models import TOTPDevice; "
    "from partnerships.signon.services.second_factor import totp_code_for; "
    "device = TOTPDevice.objects.get_or_create(user=get_user_model().objects.get(username='demo_manager'), "
    "name='authenticator', defaults={'confirmed': True})[0]; print(totp_code_for(device))"
)


def manager_code(env: dict) -> str:
    return manage(env, "shell", "-c", MANAGER_CODE).strip().splitlines()[-1]


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


SETUP = """
import json
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from partnerships.models import Bank, Initiative
bank = Bank.objects.get(code="demo-city-bank")
every, _ = IntervalSchedule.objects.get_or_create(every=20, period=IntervalSchedule.SECONDS)
PeriodicTask.objects.update_or_create(
    name="soak: report every 20 s",
    defaults={"task": "scoring.generate_report", "interval": every,
              "kwargs": json.dumps({"bank_id": bank.pk, "force": True})},
)
print(json.dumps(list(Initiative.objects.filter(bank=bank).exclude(status="retired").values_list("id", flat=True))))
"""


JOB_STATES = """
import json
from scoring.models import ScoreJob
ids = json.load(open(%(path)r))
print(json.dumps({str(pk): status for pk, status in ScoreJob.objects.filter(pk__in=ids).values_list("pk", "status")}))
"""


class Api:
    def __init__(self, base: str):
        self.base = base
        self.calls = 0
        self.failures: list[str] = []

    def call(self, method: str, path: str, *, token: str | None = None, body=None, ok=(200, 201, 202)):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base}{path}", data=data, method=method)
        req.add_header("Accept", "application/json")
        req.add_header("Accept-Language", "en")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Token {token}")
        self.calls += 1
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        except OSError as exc:
            self.failures.append(f"{method} {path}: {exc}")
            return None
        if status not in ok:
            self.failures.append(f"{method} {path}: {status} {payload[:300]!r}")
            return None
        return json.loads(payload) if payload else {}

    def token(self, username: str, otp: str | None = None) -> str:
        body = {"username": username, "password": PASSWORD, **({"otp_token": otp} if otp else {})}
        answer = self.call("POST", "/api/v1/auth/token/", body=body)
        if not answer:
            raise RuntimeError(f"no token for {username}: {self.failures[-1:]}")
        return answer["token"]


def assess_and_approve(api: Api, analyst: str, manager: str, initiative: int, criteria: dict) -> int | None:
    """One assessment through its whole lifecycle; the approval's score job id."""
    assessment = api.call("POST", "/api/v1/assessments/", token=analyst, body={"initiative": initiative})
    if not assessment:
        return None
    keys = criteria.get(assessment["rubric_version"])
    if keys is None:
        version = api.call("GET", f"/api/v1/rubric-versions/{assessment['rubric_version']}/", token=analyst)
        keys = criteria[assessment["rubric_version"]] = [
            c["key"] for c in (version or {}).get("criteria", []) if c.get("source") == "rated"
        ]
    path = f"/api/v1/assessments/{assessment['id']}"
    ratings = [{"criterion": key, "value": 3, "rationale": "soak"} for key in keys]
    if api.call("PATCH", f"{path}/ratings/", token=analyst, body={"ratings": ratings}) is None:
        return None
    if api.call("POST", f"{path}/submit/", token=analyst) is None:
        return None
    approved = api.call("POST", f"{path}/approve/", token=manager)
    return approved["score_job"]["id"] if approved else None


def fatal_lines(logfile: Path) -> list[str]:
    try:
        text = logfile.read_text(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if FATAL.search(line)]


def write_doc(path: Path, text: str) -> None:
    doc = path.read_text(encoding="utf-8")
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{path}: no {BEGIN} … {END} block to write into")
    head, rest = doc.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")


def main(argv=None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="scorecard-soak-"))
    port = free_port()
    env = embedded_env(tmp / "var", port)
    log(f"soak for {args.minutes:g} min on the embedded default under {tmp} (web on port {port})")
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--quiet")
    initiatives = json.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])
    honcho = Proc(
        "honcho", [str(Path(sys.executable).parent / "honcho"), "start"], env, tmp / "honcho.log"
    ).start()
    api = Api(f"http://127.0.0.1:{port}")
    jobs: list[int] = []
    assessments = 0
    died = ""
    load_start = os.getloadavg()
    loads: list[float] = []  # the 1-minute load average, sampled every minute of the run
    try:
        deadline = time.monotonic() + 60
        while api.call("GET", "/api/v1/schema/?format=json", ok=(200,)) is None:
            if time.monotonic() > deadline or not honcho.alive():
                raise RuntimeError(f"the web process did not answer:\n{honcho.log_tail()}")
            api.failures.clear()
            time.sleep(0.5)
        api.calls = 0
        # demo_manager signs in with a local password, so the token needs its second factor (docs/sign-on.md).
        analyst, manager = api.token("demo_analyst"), api.token("demo_manager", otp=manager_code(env))
        criteria: dict = {}
        started = time.monotonic()
        end = started + args.minutes * 60
        next_assessment = started
        i = 0
        while time.monotonic() < end:
            if not honcho.alive():
                died = honcho.log_tail()
                break
            tick = time.monotonic()
            job = api.call(
                "POST", f"/api/v1/initiatives/{initiatives[i % len(initiatives)]}/score/", token=analyst
            )
            if job:
                jobs.append(job["id"])
            if tick >= next_assessment:
                job_id = assess_and_approve(
                    api, analyst, manager, initiatives[i % len(initiatives)], criteria
                )
                if job_id:
                    jobs.append(job_id)
                    assessments += 1
                next_assessment = tick + 15
            if i % 60 == 0:
                loads.append(os.getloadavg()[0])
            if i % 300 == 0:
                log(
                    f"  {(tick - started) / 60:5.1f} min: {len(jobs)} jobs asked, {assessments} approvals, "
                    f"{len(api.failures)} failed requests, load {os.getloadavg()[0]:.2f}"
                )
            i += 1
            time.sleep(max(0.0, 1 - (time.monotonic() - tick)))
        ran = (time.monotonic() - started) / 60
        failed_during_run = len(api.failures)
        # Every accepted job must finish. Read from the database, not through the API: polling thousands of jobs
        # one by one would only measure the API's own throttle.
        ids_file = tmp / "job-ids.json"
        ids_file.write_text(json.dumps(jobs))
        drain_until = time.monotonic() + args.drain
        states: dict[str, str] = {}
        while time.monotonic() < drain_until and honcho.alive():
            states = json.loads(
                manage(env, "shell", "-c", JOB_STATES % {"path": str(ids_file)}).strip().splitlines()[-1]
            )
            if all(state in ("succeeded", "failed") for state in states.values()) and len(states) == len(
                set(jobs)
            ):
                break
            time.sleep(5)
        pending = {j for j in jobs if states.get(j) not in ("succeeded", "failed")}
        reports = api.call("GET", "/api/v1/reports/?page_size=1", token=manager) or {}
        alive_at_end = honcho.alive()
    finally:
        honcho.stop()
    fatal = fatal_lines(tmp / "honcho.log")
    built = len(re.findall(r"scoring\.generate_report\[[^\]]*\] succeeded", (tmp / "honcho.log").read_text()))
    failed_jobs = sorted(j for j, state in states.items() if state == "failed")
    ok = alive_at_end and not died and not fatal and not api.failures and not pending and not failed_jobs
    load_end = os.getloadavg()
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    summary = "\n".join(
        [
            f"Soak of {when} (`python -m bench.soak --minutes {args.minutes:g}`; written by that run): "
            f"{ran:.1f} minutes of `make run`'s web, worker and beat on SQLite and the filesystem broker; "
            f"load average {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end, "
            f"{max(loads, default=0):.2f} at the highest and {sum(loads) / max(len(loads), 1):.2f} on average "
            f"over the run, sampled each minute ({os.cpu_count()} CPUs).",
            "",
            "| figure | value |",
            "| --- | --- |",
            f"| processes alive at the end | {'all three' if alive_at_end and not died else 'NO'} |",
            f"| fatal lines in the processes' log (CRITICAL, Unrecoverable, a process exited) | {len(fatal)} |",
            f"| API requests / failed | {api.calls:,} / {failed_during_run} |",
            f"| score jobs accepted (requests + approvals) | {len(jobs):,} |",
            f"| assessments rated, submitted and approved | {assessments:,} |",
            f"| jobs succeeded / failed / unfinished after the drain | {sum(s == 'succeeded' for s in states.values()):,}"
            f" / {len(failed_jobs)} / {len(pending)} |",
            f"| report builds by the worker (beat asks every 20 s) / reports on record | {built:,} / "
            f"{reports.get('count', '?')} |",
            f"| verdict | {'passed' if ok else 'FAILED'} |",
        ]
    )
    print(summary, flush=True)
    for line in api.failures[:10] + fatal[:10]:
        print("  ", line[:300])
    if died:
        print(died)
    if args.write_doc:
        write_doc(args.write_doc, summary)
    log(f"logs in {tmp}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

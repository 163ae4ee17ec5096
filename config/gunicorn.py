"""gunicorn's settings for the web process: ``gunicorn -c config/gunicorn.py config.wsgi`` (docs/deploy.md).

Every value can be changed by the environment (or on the command line, which wins over this file).
"""

import os
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Two per core is gunicorn's rule of thumb, but on a 2-core machine 4 workers did worse than 2 (shared NOTES).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# A worker is replaced after this many requests (spread by the jitter): memory a worker gathers is given back.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# The proxy's addresses whose X-Forwarded-* headers gunicorn trusts (Django reads X-Forwarded-Proto through
# SECURE_PROXY_SSL_HEADER: the proxy must set it, and strip what a client sent).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# One line a request with the request id Django returned (X-Request-ID), so a request in the access log is found
# in Django's and the workers' log lines. GUNICORN_ACCESS_LOG="" turns it off (e.g. when the proxy logs them).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server):
    """With PROMETHEUS_MULTIPROC_DIR (the metrics of every worker process added up at each scrape): start from
    an empty folder, or the counts of a previous run's processes would be added in."""
    if MULTIPROC_DIR:
        folder = Path(MULTIPROC_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.db"):  # prometheus_client's files only, whatever else the folder holds
            old.unlink()


def child_exit(server, worker):
    """A worker process ended: its gauges leave the sums (its counters stay counted)."""
    if MULTIPROC_DIR:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

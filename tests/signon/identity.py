"""The test OIDC provider as a process: migrated SQLite file, an RSA signing key of its own, gunicorn on a free
port (tests/signon/provider/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.processes import BIN, ROOT, free_port, terminate, wait_for

CLIENT_ID = "scorecard-test-client"
CLIENT_SECRET = "scorecard-test-client-secret-0427"


class Provider:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="scorecard-oidc-"))
        self.key_file = self.root / "signing-key.pem"
        self.fault_file = self.root / "fault"
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.url}/o"

    def _env(self) -> dict:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="tests.signon.provider.settings",
            PROVIDER_DB=str(self.root / "provider.sqlite3"),
            PROVIDER_RSA_KEY_FILE=str(self.key_file),
            PROVIDER_FAULT_FILE=str(self.fault_file),
            PROVIDER_ISSUER=self.issuer if self.port else "",
            PYTHONPATH=str(ROOT),
        )
        return env

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "django", *args],
            cwd=ROOT,
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"provider {' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
        return done.stdout

    def start(self) -> Provider:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.manage("migrate", "--noinput", "-v0")
        self.port = free_port()
        log = self.root / "gunicorn.log"
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "tests.signon.provider.wsgi", "-w", "1", "-b", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=self._env(),
            stdout=open(log, "a"),
            stderr=subprocess.STDOUT,
        )
        wait_for(self._up, 30, message=f"the OIDC provider on port {self.port} (log {log})")
        return self

    def _up(self) -> bool:
        assert self.proc.poll() is None, (self.root / "gunicorn.log").read_text(errors="replace")[-3000:]
        try:
            return (
                requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2).status_code == 200
            )
        except requests.RequestException:
            return False

    def register(self, redirect_uri: str, *users: tuple[str, str, list[str]]) -> None:
        args = ["provider_setup", "--client", CLIENT_ID, CLIENT_SECRET, redirect_uri]
        for name, password, groups in users:
            args += ["--user", name, password, ",".join(groups)]
        self.manage(*args)

    def set_fault(self, mode: str) -> None:
        self.fault_file.write_text(mode)

    def settings_env(self) -> dict[str, str]:
        """The OIDC_* variables that point Scorecard at this provider, as docs/sign-on.md describes them."""
        base = self.issuer
        return {
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_OP_ISSUER": base,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{base}/authorize/",
            "OIDC_OP_TOKEN_ENDPOINT": f"{base}/token/",
            "OIDC_OP_USER_ENDPOINT": f"{base}/userinfo/",
            "OIDC_OP_JWKS_ENDPOINT": f"{base}/.well-known/jwks.json",
            "OIDC_RP_SCOPES": "openid email profile groups",
            "OIDC_TIMEOUT": "5",
        }

    def stop(self) -> None:
        terminate(self.proc)
        shutil.rmtree(self.root, ignore_errors=True)

"""A real LDAP directory for the tests: Debian's slapd on its own port, with its own config and data folder under a
temporary directory, run as the current user, filled with ldapadd.

The directory looks like a small Active Directory as far as sign-on cares: users carry ``sAMAccountName`` and
``userAccountControl`` (msuser.schema, through ``extensibleObject``), and a disabled account has the ACCOUNTDISABLE
bit (2) set — which the AD user filter of docs/sign-on.md leaves out with the bitwise matching rule
``userAccountControl:1.2.840.113556.1.4.803:=2``, as a real AD does. Groups are groupOfNames.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.processes import free_port, wait_for

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
BASE = "dc=bank,dc=test"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PASSWORD = "slapd-admin-test-only"
SERVICE_DN = f"cn=scorecard-svc,ou=services,{BASE}"
SERVICE_PASSWORD = "svc-bind-test-only"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
# sAMAccountName has no equality rule in msuser.schema, so the username is matched on uid here (a real AD matches
# sAMAccountName); the ACCOUNTDISABLE test is AD's own.
USER_FILTER = "(&(objectClass=inetOrgPerson)(uid=%(user)s)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))"
ENABLED, DISABLED = 512, 514  # AD's NORMAL_ACCOUNT, and the same with ACCOUNTDISABLE

CONFIG = """include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/msuser.schema
pidfile {root}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{base}"
rootdn "{admin_dn}"
rootpw {admin_password}
directory {root}/data
access to attrs=userPassword by self auth by anonymous auth by * none
access to * by dn.exact="{service_dn}" read by self read by * none
"""


def user_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def group_dn(cn: str) -> str:
    return f"cn={cn},{GROUPS}"


class Slapd:
    def __init__(self):
        if not Path(SLAPD).exists():
            raise AssertionError("slapd is not installed (apt-get install slapd ldap-utils; .ci/run does)")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="scorecard-slapd-"))
        (self.root / "data").mkdir()
        self.proc: subprocess.Popen | None = None
        self.log = self.root / "slapd.log"

    @property
    def uri(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def settings_env(self, **extra: str) -> dict[str, str]:
        """The LDAP_* variables that point Scorecard at this directory, as docs/sign-on.md describes them."""
        return {
            "LDAP_SERVER_URI": self.uri,
            "LDAP_BIND_DN": SERVICE_DN,
            "LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
            "LDAP_USER_SEARCH_BASE": PEOPLE,
            "LDAP_USER_FILTER": USER_FILTER,
            "LDAP_GROUP_SEARCH_BASE": GROUPS,
            "LDAP_GROUP_FILTER": "(objectClass=groupOfNames)",
            "LDAP_GROUP_TYPE": "groupOfNames",
            "LDAP_TIMEOUT": "2",
            **extra,
        }

    def start(self) -> Slapd:
        config = self.root / "slapd.conf"
        config.write_text(
            CONFIG.format(
                root=self.root,
                base=BASE,
                admin_dn=ADMIN_DN,
                admin_password=ADMIN_PASSWORD,
                service_dn=SERVICE_DN,
            )
        )
        self.proc = subprocess.Popen(
            [SLAPD, "-f", str(config), "-h", f"{self.uri}/", "-d", "0"],
            stdout=open(self.log, "a"),
            stderr=subprocess.STDOUT,
        )
        wait_for(self._up, 15, message=f"slapd on port {self.port} (log {self.log})")
        return self

    def _up(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.log.read_text(errors="replace")[
            -2000:
        ]
        done = subprocess.run(
            [
                "ldapsearch",
                "-x",
                "-H",
                self.uri,
                "-D",
                ADMIN_DN,
                "-w",
                ADMIN_PASSWORD,
                "-b",
                "",
                "-s",
                "base",
            ],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return done.returncode in (0, 32)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _ldif(self, tool: str, ldif: str, *args: str) -> str:
        done = subprocess.run(
            [tool, "-x", "-H", self.uri, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD, *args],
            input=ldif,
            capture_output=True,
            text=True,
            timeout=15,
        )
        assert done.returncode == 0, f"{tool}: {done.stdout}{done.stderr}\n{ldif}"
        return done.stdout

    def add(self, ldif: str) -> None:
        self._ldif("ldapadd", ldif)

    def modify(self, ldif: str) -> None:
        self._ldif("ldapmodify", ldif)

    def seed(self) -> None:
        """The test directory: the tree, the service account, users (one disabled) and groups."""
        self.add(
            f"""dn: {BASE}
objectClass: dcObject
objectClass: organization
o: Test Bank
dc: bank

dn: ou=people,{BASE}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{BASE}
objectClass: organizationalUnit
ou: groups

dn: ou=services,{BASE}
objectClass: organizationalUnit
ou: services

dn: {SERVICE_DN}
objectClass: inetOrgPerson
cn: scorecard-svc
sn: service
userPassword: {SERVICE_PASSWORD}

dn: {group_dn("nobody-yet")}
objectClass: groupOfNames
cn: nobody-yet
member: {SERVICE_DN}
"""
        )

    def add_user(
        self, uid: str, password: str, *, disabled: bool = False, given: str = "", surname: str = ""
    ) -> str:
        self.add(
            f"""dn: {user_dn(uid)}
objectClass: inetOrgPerson
objectClass: extensibleObject
uid: {uid}
sAMAccountName: {uid}
cn: {given or uid} {surname or uid}
sn: {surname or uid}
givenName: {given or uid}
mail: {uid}@bank.test
userAccountControl: {DISABLED if disabled else ENABLED}
userPassword: {password}
"""
        )
        return user_dn(uid)

    def add_group(self, cn: str, *members: str) -> str:
        # The service account is a member of every group: groupOfNames needs one, even when the last user leaves.
        lines = f"member: {SERVICE_DN}\n" + "".join(f"member: {user_dn(m)}\n" for m in members)
        self.add(f"dn: {group_dn(cn)}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}")
        return group_dn(cn)

    def remove_member(self, cn: str, uid: str) -> None:
        self.modify(f"dn: {group_dn(cn)}\nchangetype: modify\ndelete: member\nmember: {user_dn(uid)}\n")

    def add_member(self, cn: str, uid: str) -> None:
        self.modify(f"dn: {group_dn(cn)}\nchangetype: modify\nadd: member\nmember: {user_dn(uid)}\n")

    def set_disabled(self, uid: str, disabled: bool) -> None:
        value = DISABLED if disabled else ENABLED
        self.modify(
            f"dn: {user_dn(uid)}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: {value}\n"
        )

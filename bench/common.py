"""What the benchmarks share: generated specs, the two ways of measuring a phase, and a
checkout of an earlier commit to measure beside this code.

Wall time comes from one untraced run; peak memory from a second, traced run, because
tracemalloc slows allocation down.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

HEADER = """\
apiVersion: insomnia-sso/v1
kind: Enterprise
metadata:
  name: bench
spec:
  domains: [bench.example.com, bench.example.io]
  sso:
    type: oidc
    domainIdentifier: bench.example.com
    ssoUrl: https://insomnia-dev.us.auth0.com/login/callback
    okta:
      orgUrl: https://bench.okta.com
      authorizationServer:
        name: insomnia
        audience: api://insomnia
  prune:
    enabled: true
    maxFraction: 0.1
  organizations:
"""


def spec_text(people: int, organizations: int = 1, changed: float = 0.0) -> str:
    """A spec of `people` memberships; `changed` of them re-roled, removed or new."""
    lines = [HEADER]
    per_org = max(1, people // organizations)
    every = int(1 / changed) if changed else 0
    for o in range(organizations):
        lines.append(f"    - name: team-{o:03d}\n      members:\n")
        for p in range(o * per_org, min(people, (o + 1) * per_org)):
            domain = "bench.example.io" if p % 7 == 0 else "bench.example.com"
            role = "admin" if p % 25 == 0 else "member"
            if every and p % every == 0:
                kind = (p // every) % 3
                if kind == 0:  # re-roled
                    role = "member" if role == "admin" else "admin"
                elif kind == 1:  # removed from the spec
                    continue
                else:  # replaced by a newcomer
                    lines.append(f"        - email: new.person{p}@{domain}\n")
                    continue
            lines.append(f"        - email: person{p}@{domain}\n          role: {role}\n")
    return "".join(lines)


def outputs_json(assigned_users: Sequence[str]) -> str:
    """Okta outputs as `pulumi stack output --json --show-secrets` gives them, with
    `assigned_users` assigned: what every bench hands the reconciler."""
    return json.dumps(
        {
            "client_id": "0oabench",
            "client_secret": "bench-secret-not-real",
            "issuer": "https://bench.okta.com/oauth2/ausbench",
            "app_id": "0oabench",
            "auth_server_id": "ausbench",
            "assigned_users": list(assigned_users),
        }
    )


def memberships(spec: Path) -> list[tuple[str, str]]:
    """(organization, lowercased email) of every member of a spec file, read with PyYAML's C
    loader and not validated: quicker than loading it, for a spec the bench generated."""
    import yaml

    data = yaml.load(spec.read_text(), Loader=yaml.CSafeLoader)
    return [
        (org["name"], member["email"].lower())
        for org in data["spec"]["organizations"]
        for member in org["members"]
    ]


def timed(func: Callable[[], T]) -> tuple[T, float]:
    """The result of `func` and its wall time in seconds."""
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def traced_peak(func: Callable[[], Any]) -> float:
    """Peak MiB of Python allocations while `func` runs."""
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def worktree(commit: str) -> Iterator[Path | None]:
    """A temporary git worktree at `commit` (None when git cannot make one), removed after."""
    folder = Path(tempfile.mkdtemp(prefix="insomnia-sso-baseline-"))
    tree = folder / "tree"
    git = ["git", "-C", str(ROOT)]
    added = subprocess.run(
        [*git, "worktree", "add", "--detach", str(tree), commit], capture_output=True
    )
    try:
        yield tree if added.returncode == 0 else None
    finally:
        if added.returncode == 0:
            subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(folder, ignore_errors=True)

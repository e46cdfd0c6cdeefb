"""Generate large, valid enterprise specs for the benchmarks."""

from __future__ import annotations

HEADER = """\
apiVersion: insomnia-sso/v1
kind: Enterprise
metadata:
  name: {name}
spec:
  domains: [acme.com, acme.io]
  sso:
    type: oidc
    domainIdentifier: acme.com
    ssoUrl: https://insomnia-dev.us.auth0.com/login/callback
    okta:
      orgUrl: https://acme.okta.com
      authorizationServer:
        name: insomnia
        audience: api://insomnia
  prune:
    enabled: {prune}
    maxFraction: 0.1
  organizations:
"""


def spec_text(
    people: int,
    organizations: int,
    *,
    name: str = "acme",
    prune: bool = False,
    changed: float = 0.0,
) -> str:
    """A spec with `people` members spread over `organizations`; `changed` renames a share."""
    lines = [HEADER.format(name=name, prune=str(prune).lower())]
    per_org = max(1, people // organizations)
    step = int(1 / changed) if changed else 0
    for o in range(organizations):
        lines.append(f"    - name: org-{o:03d}\n      members:\n")
        for i in range(o * per_org, min(people, (o + 1) * per_org)):
            who = f"new.person{i:06d}" if step and i % step == 0 else f"person{i:06d}"
            domain = "acme.io" if i % 5 == 0 else "acme.com"
            role = "\n          role: admin" if i % 50 == 0 else ""
            lines.append(f"        - email: {who}@{domain}{role}\n")
    return "".join(lines)

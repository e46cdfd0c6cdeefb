"""`doctor`: live checks, from outside, of what the UI-only steps left behind.

    checks.py    CheckResult, Status, DoctorReport and the runner that keeps one deadline
    issuer.py    issuer.custom_domain (DNS), issuer.discovery and issuer.jwks (HTTP)
    dns.py       a resolver with a deadline: TXT records, a host's addresses, NXDOMAIN said
    reach.py     requests to where doctor's DNS says, and why a fetch failed (its cause)
    domains.py   sso.url and domain.<name>
    scim.py      scim (through the Directory interface)
    record.py    record.lock and record.last_apply (the store, read only)
    run.py       all of them for one enterprise, concurrently

No check needs Okta or Insomnia credentials; only `scim` needs the SCIM token.
"""

from reconciler.doctor.checks import CheckResult, DoctorReport, Status
from reconciler.doctor.dns import Nameserver, Resolver
from reconciler.doctor.run import DEFAULT_TIMEOUT, doctor

__all__ = [
    "DEFAULT_TIMEOUT",
    "CheckResult",
    "DoctorReport",
    "Nameserver",
    "Resolver",
    "Status",
    "doctor",
]

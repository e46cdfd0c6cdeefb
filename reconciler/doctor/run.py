"""All of doctor's checks for one enterprise, run concurrently within one timeout.

issuer.custom_domain            DNS for the spec's customDomain, when it names one
issuer.discovery, issuer.jwks   HTTP to the issuer (from the Okta outputs)
sso.url                         DNS for the SSO URL's host
domain.<name>                   DNS TXT per claimed domain, judged against the record
scim                            the SCIM directory's probe

With nameservers given (`--nameserver`), every host is looked up through them: the custom
domain, the issuer's and the keys' hosts, the SSO URL's, each domain's TXT records and the
SCIM host; requests then go to the address found, the name kept for TLS and Host.
record.lock, record.last_apply  the record, read only
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime

import httpx

from reconciler.doctor import domains, issuer, record, scim
from reconciler.doctor.checks import CheckResult, Deadline, DoctorReport, Task, run_tasks
from reconciler.doctor.dns import Resolver
from reconciler.errors import StoreError
from reconciler.outputs import OktaOutputs
from reconciler.spec import Enterprise
from reconciler.stores.base import Store, utcnow

DEFAULT_TIMEOUT = 10.0


def doctor(
    enterprise: Enterprise,
    outputs: OktaOutputs,
    *,
    open_store: Callable[[], Store],
    resolver: Resolver,
    scim_check: scim.ScimSource | CheckResult | None = None,
    scim_secrets: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    now: datetime | None = None,
    http: httpx.Client | None = None,
) -> DoctorReport:
    """Check from outside what the UI-only steps left behind, for one enterprise.

    `scim_check` is a directory (or its probe) to check, a ready result (a skip or a failure
    the caller already knows), or None (skipped). Every check ends within `timeout` seconds
    of the start (plus a short grace), however its peers behave.
    """
    name = enterprise.name
    spec = enterprise.spec
    moment = now or utcnow()
    client = http or httpx.Client(follow_redirects=False)
    facts: Future[record.RecordFacts] = Future()

    def record_task(deadline: Deadline) -> list[CheckResult]:
        try:
            read = record.read_record(open_store, name, moment)
        except StoreError as err:
            facts.set_exception(err)
            return record.record_unreadable(err)
        facts.set_result(read)
        return [record.check_lock(read.lock, moment), record.check_last_apply(read.journal, name)]

    def domain_task(domain: str) -> Task:
        def run(deadline: Deadline) -> list[CheckResult]:
            records, error = domains.lookup_txt(domain, resolver, deadline)
            try:
                known = domains.verification(facts.result(deadline.remaining()).actual, domain)
            except (StoreError, FutureTimeout):
                known = None
            return [domains.check_domain(domain, records, error, known)]

        return Task((domains.domain_check_id(domain),), run)

    def scim_task(deadline: Deadline) -> list[CheckResult]:
        if isinstance(scim_check, CheckResult):
            return [scim_check]
        return [
            scim.check_scim(
                scim_check,
                enterprise=name,
                secrets=scim_secrets,
                resolver=resolver,
                deadline=deadline,
            )
        ]

    custom_domain = spec.sso.okta.custom_domain
    tasks = [
        Task(
            issuer.issuer_ids(custom_domain),
            lambda deadline: issuer.check_issuer(
                outputs.issuer,
                spec.sso.okta.org_url,
                client,
                deadline,
                custom_domain=custom_domain,
                resolver=resolver,
            ),
        ),
        Task(
            (domains.SSO_URL,),
            lambda deadline: [domains.check_sso_url(spec.sso.sso_url, resolver, deadline)],
        ),
        *(domain_task(domain) for domain in spec.domains),
        Task((scim.SCIM,), scim_task),
        Task(record.IDS, record_task),
    ]
    try:
        results = run_tasks(tasks, timeout)
    finally:
        if http is None:
            client.close()
    return DoctorReport(name, tuple(results))

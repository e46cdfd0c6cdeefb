"""`import` from a live directory, then `plan` against the same directory: nothing to make.

Each test arranges a directory as a company that onboarded people by hand would have it:
teams in both naming styles (`platform-admins`, and `Payments Admins` made in the UI),
userNames in mixed case, people in several organizations, a team nobody mapped, a
deactivated user. The peers are a fresh tenant of a real scim2-server and the strict
Okta-profile server, which refuses (and records) any request Okta's client would not send.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from reconciler.spec import load_file
from tests.cli.conftest import outputs_json, run
from tests.directory.fault_proxy import Fault, FaultProxy
from tests.scim_peer import TOKEN, Tenant
from tests.strict_scim import TOKEN as STRICT_TOKEN
from tests.strict_scim import StrictScim

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
NOW = "2026-12-01T09:30:00Z"
TEAMS = (
    "--team",
    "Payments Admins=payments-api:admin",
    "--team",
    "Payments Crew=payments-api:member",
)
ASSIGNED = [
    "alice.nguyen@acme.com",
    "bob.smith@acme.com",
    "carol.jones@acme.com",
    "dmitri.ivanov@acme.com",
    "esther.okafor@acme.io",
    "frank.mueller@acme.com",
]


@dataclass(frozen=True)
class Person:
    user_name: str
    external_id: str | None = None
    given: str | None = None
    family: str | None = None
    active: bool = True

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [USER], "userName": self.user_name}
        body["active"] = self.active
        body["emails"] = [{"value": self.user_name, "type": "work", "primary": True}]
        if self.external_id:
            body["externalId"] = self.external_id
        names = {k: v for k, v in (("givenName", self.given), ("familyName", self.family)) if v}
        if names:
            body["name"] = names
            body["displayName"] = " ".join(names.values())
        return body


PEOPLE = [
    Person("Alice.Nguyen@Acme.com", "alice.nguyen@acme.com", "Alice", "Nguyen"),
    Person("bob@acme.io", "bob.smith@acme.com", "Bob", "Smith"),  # Okta login ≠ email
    Person("Carol.Jones@ACME.com", "carol.jones@acme.com"),
    Person("dmitri.ivanov@acme.com", "dmitri.ivanov@acme.com", "Dmitri", "Ivanov"),
    Person("esther.okafor@acme.io", "esther.okafor@acme.io", "Esther", "O'Kafor"),
    Person("zoe.martin@acme.com", "zoe.martin@acme.com", "Zoé", "Martin"),
    Person("gone@acme.com", "gone@acme.com", active=False),
]
TEAM_MEMBERS = {
    "platform-admins": ["Alice.Nguyen@Acme.com"],
    "platform-members": ["bob@acme.io", "Carol.Jones@ACME.com", "gone@acme.com"],
    "Payments Admins": ["dmitri.ivanov@acme.com"],
    "Payments Crew": ["Alice.Nguyen@Acme.com", "esther.okafor@acme.io"],
    "designers": ["zoe.martin@acme.com"],
}

IMPORTED = """\
# yaml-language-server: $schema=../schema/insomnia-sso.schema.json
#
# Imported by `insomnia-sso import` at 2026-12-01T09:30:00Z from
#   the SCIM directory {url} (profile okta),
#   Okta's assignments in outputs.json.
# Organizations and people are what Insomnia held then: review them before the first plan.
# What import cannot know is marked FILL IN; `insomnia-sso validate` lists it.
apiVersion: insomnia-sso/v1
kind: Enterprise
metadata:
  name: acme
spec:
  domains:
    - acme.com
    - acme.io
  # FILL IN the SSO block: Insomnia shows it only in its web UI, so import cannot read
  # it. `insomnia-sso validate` names what is still to fill in.
  sso:
    type: oidc
    domainIdentifier: "FILL IN: the domain identifier, one of the domains"
    # Shown by Insomnia (Enterprise Controls › SSO); becomes the Okta redirect URI.
    ssoUrl: "FILL IN: the SSO URL Insomnia shows"
    okta:
      orgUrl: "FILL IN: your Okta org's URL (https://….okta.com)"
      appLabel: Insomnia
      # The issuer the Okta program declares; adopting one made by hand? Its values.
      authorizationServer:
        name: insomnia
        audience: api://insomnia
  organizations:
    - name: payments-api
      teams:
        admin: Payments Admins
        member: Payments Crew
      members:
        - email: alice.nguyen@acme.com
          givenName: Alice
          familyName: Nguyen
        - email: dmitri.ivanov@acme.com
          role: admin
          givenName: Dmitri
          familyName: Ivanov
        - email: esther.okafor@acme.io
          givenName: Esther
          familyName: O'Kafor
    - name: platform
      members:
        - email: alice.nguyen@acme.com
          role: admin
          givenName: Alice
          familyName: Nguyen
        - email: bob@acme.io
          oktaLogin: bob.smith@acme.com
          givenName: Bob
          familyName: Smith
        - email: carol.jones@acme.com
  prune:
    enabled: false
    maxFraction: 0.1
"""

REPORTS = [
    "unmapped team 'designers' (1 member(s): zoe.martin@acme.com): not in the spec; map it "
    'with --team "designers=ORGANIZATION:ROLE"',
    "oktaLogin bob.smith@acme.com written for bob@acme.io: its SCIM externalId, assigned in Okta",
    "NOT IN THE SPEC: zoe.martin@acme.com is only in unmapped teams ('designers')",
    "left out 1 inactive user(s), deactivated in Insomnia: gone@acme.com",
    "assigned in Okta, in no organization in Insomnia (no seat): frank.mueller@acme.com",
    "Wrote 2 organization(s), 5 people to {out}; 1 active user(s) in Insomnia are not in it "
    "(above).",
]
PLACEHOLDERS = [
    "{out} does not validate yet; `insomnia-sso validate` says:",
    "{out}:20: spec.sso.domainIdentifier: fill in the domain identifier, one of the domains",
    "{out}:22: spec.sso.ssoUrl: fill in the SSO URL Insomnia shows",
    "{out}:24: spec.sso.okta.orgUrl: fill in your Okta org's URL (https://….okta.com)",
]


# -- the two peers, arranged the same way ---------------------------------------------------


@dataclass
class Peer:
    url: str
    token: str
    strict: StrictScim | None = None


def arrange_scim2(tenant: Tenant, people: list[Person], teams: dict[str, list[str]]) -> None:
    with tenant.raw() as raw:
        ids = {}
        for person in people:
            answer = raw.post("/Users", json=person.body())
            answer.raise_for_status()
            ids[person.user_name] = answer.json()["id"]
        for name, members in teams.items():
            body = {"schemas": [GROUP], "displayName": name,
                    "members": [{"value": ids[m]} for m in members]}  # fmt: skip
            raw.post("/Groups", json=body).raise_for_status()


def arrange_strict(strict: StrictScim, people: list[Person], teams: dict[str, list[str]]) -> None:
    """Straight into its tables: the requests it records are then the tool's alone."""
    ids = {}
    for person in people:
        uid = uuid.uuid4().hex
        strict.users[uid] = {**person.body(), "id": uid}
        ids[person.user_name] = uid
    for name, members in teams.items():
        gid = uuid.uuid4().hex
        strict.groups[gid] = {"id": gid, "displayName": name, "members": [ids[m] for m in members]}


@pytest.fixture(params=["scim2-server", "strict"])
def arrange(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Peer]:
    """Arrange people and teams in a fresh peer of either kind; the token is in the env."""

    def make(people: list[Person] = PEOPLE, teams: dict[str, list[str]] = TEAM_MEMBERS) -> Peer:
        if request.param == "strict":
            strict: StrictScim = request.getfixturevalue("strict")
            arrange_strict(strict, people, teams)
            monkeypatch.setenv("INSOMNIA_SSO_SCIM_TOKEN", STRICT_TOKEN)
            return Peer(strict.url, STRICT_TOKEN, strict)
        tenant: Tenant = request.getfixturevalue("full_tenant")
        arrange_scim2(tenant, people, teams)
        monkeypatch.setenv("INSOMNIA_SSO_SCIM_TOKEN", TOKEN)
        return Peer(tenant.url, TOKEN)

    return make


@pytest.fixture
def okta(tmp_path: Path, secret: str) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs_json(secret, assigned_users=ASSIGNED)), encoding="utf-8")
    return path


def filled(text: str) -> str:
    """What the owner does to the SSO block import left to fill in."""
    return (
        text.replace('"FILL IN: the domain identifier, one of the domains"', "acme.com")
        .replace('"FILL IN: the SSO URL Insomnia shows"', "https://sso.insomnia.test/callback")
        .replace('"FILL IN: your Okta org\'s URL (https://….okta.com)"', "https://acme.okta.com")
    )


def changes(result: Result) -> list[dict[str, Any]]:
    return list(json.loads(result.stdout)["changes"])


# -- the round trip -------------------------------------------------------------------------


def test_import_then_plan_only_adopts_the_teams_and_lists_the_steps(
    arrange: Callable[..., Peer], okta: Path, tmp_path: Path, secret: str
) -> None:
    peer = arrange()
    out = tmp_path / "specs" / "enterprise.yaml"
    out.parent.mkdir()
    imported = run(
        "import", "--scim", peer.url, *TEAMS, "--enterprise", "acme", "--okta-outputs", okta,
        "--out", out, "--now", NOW,
    )  # fmt: skip
    assert imported.exit_code == 0, imported.output
    assert imported.stdout == ""
    assert out.read_text() == IMPORTED.format(url=peer.url)
    where = str(out)
    assert imported.stderr.splitlines() == [
        *(line.format(out=where) for line in REPORTS),
        *(line.format(out=where) for line in PLACEHOLDERS),
    ]
    for kept_back in (secret, peer.token):  # neither the client secret nor the SCIM token
        assert kept_back not in imported.output + out.read_text()
    invalid = run("validate", out)
    assert invalid.exit_code == 1
    assert invalid.stderr.splitlines()[:3] == [line.format(out=where) for line in PLACEHOLDERS[1:]]

    out.write_text(filled(out.read_text()))
    assert run("validate", out).exit_code == 0
    store = f"sqlite:///{tmp_path / 'fresh' / 'state.db'}"
    planned = run(
        "plan", out, "--scim", peer.url, "--store", store, "--okta-outputs", okta,
        "--format", "json",
    )  # fmt: skip
    assert planned.exit_code == 2, planned.output
    assert [(c["action"], c["kind"], c["key"]) for c in changes(planned)] == [
        ("update", "team", "Payments Admins"),
        ("update", "team", "Payments Crew"),
        ("update", "team", "platform-admins"),
        ("update", "team", "platform-members"),
    ]
    for change in changes(planned):  # adoptions: the team Insomnia has becomes the tool's
        assert (change["before"]["managed"], change["after"]["managed"]) == (False, True)
        assert change["before"]["displayName"] == change["after"]["displayName"] == change["key"]
    steps = [(s["kind"], s["key"]) for s in json.loads(planned.stdout)["manual_steps"]]
    assert steps == [
        ("domain", "acme.com"),
        ("domain", "acme.io"),
        ("sso_connection", "acme"),
        ("organization", "payments-api"),
        ("team_link", "Payments Admins"),
        ("team_link", "Payments Crew"),
        ("organization", "platform"),
        ("team_link", "platform-admins"),
        ("team_link", "platform-members"),
    ]
    # The deactivated user stays in the team it was in: prune is off, and she is nobody's;
    # deactivated, she has no access for the plan to name. The record is new beside teams
    # Insomnia holds: said, in case --store named the wrong record.
    assert planned.stderr == (
        "warning: the record holds nothing for enterprise 'acme' yet: a first run, yet Insomnia "
        "holds its teams already (Payments Admins, Payments Crew, platform-admins, …): if this "
        "is not a first run, --store names the wrong record (apply would adopt the teams by "
        "name)\n"
    )
    assert json.loads(planned.stdout)["unmanaged_access"] == []
    if peer.strict is not None:
        assert peer.strict.violations == []
        assert {r.split("?")[0] for r in peer.strict.requests} == {"GET /Users", "GET /Groups"}


def test_importing_twice_from_the_same_directory_gives_the_same_bytes(
    arrange: Callable[..., Peer], okta: Path, tmp_path: Path
) -> None:
    peer = arrange()
    texts = []
    for name in ("first.yaml", "second.yaml"):
        done = run("import", "--scim", peer.url, *TEAMS, "--enterprise", "acme",
                   "--okta-outputs", okta, "--out", tmp_path / name, "--now", NOW)  # fmt: skip
        assert done.exit_code == 0, done.output
        texts.append((tmp_path / name).read_bytes())
    to_stdout = run("import", "--scim", peer.url, *TEAMS, "--enterprise", "acme",
                    "--okta-outputs", okta, "--now", NOW)  # fmt: skip
    assert texts[0] == texts[1] == to_stdout.stdout.encode()
    assert to_stdout.stderr.splitlines()[-5] == (
        "Wrote 2 organization(s), 5 people to stdout; 1 active user(s) in Insomnia are not "
        "in it (above)."
    )
    if peer.strict is not None:
        assert peer.strict.violations == []


# -- a spec given: everything but its organizations stays -------------------------------------

BASE = """\
# yaml-language-server: $schema=../../schema/insomnia-sso.schema.json
apiVersion: insomnia-sso/v1
kind: Enterprise
metadata:
  name: acme
spec:
  domains: [acme.com, acme.io]
  sso:
    type: oidc
    domainIdentifier: acme.io
    ssoUrl: https://sso.insomnia.test/callback
    okta:
      orgUrl: https://acme.okta.com
      customDomain: login.acme.com
      authorizationServer: {name: insomnia-prod, audience: "api://insomnia-prod"}
  organizations:
    - name: payments-api
      teams: {admin: Payments Admins, member: Payments Crew}
      members:
        - email: someone.else@acme.com
    - name: platform
      members:
        - email: alice.nguyen@acme.com
          role: owner
    - name: retired
      members: []
  prune:
    enabled: true
    maxFraction: 0.25
"""


def test_a_spec_given_keeps_all_but_its_organizations(
    arrange: Callable[..., Peer], tmp_path: Path, secret: str
) -> None:
    peer = arrange()
    base = tmp_path / "specs" / "team" / "enterprise.yaml"
    base.parent.mkdir(parents=True)
    base.write_text(BASE)
    outputs = tmp_path / "outputs.json"
    issuer = "https://login.acme.com/oauth2/aus0001"
    outputs.write_text(json.dumps(outputs_json(secret, assigned_users=ASSIGNED, issuer=issuer)))
    out = tmp_path / "imported.yaml"
    done = run("import", "--scim", peer.url, "--spec", base, "--okta-outputs", outputs,
               "--out", out, "--now", NOW)  # fmt: skip
    assert done.exit_code == 0, done.output
    before, after = load_file(base), load_file(out)
    assert after.metadata == before.metadata
    assert after.spec.model_dump(exclude={"organizations"}) == before.spec.model_dump(
        exclude={"organizations"}
    )
    assert [(o.name, o.teams.admin, o.teams.member) for o in after.spec.organizations] == [
        ("payments-api", "Payments Admins", "Payments Crew"),  # the spec's names map its teams
        ("platform", None, None),
    ]
    platform = after.spec.organizations[1]
    assert [(m.email, m.role.value) for m in platform.members] == [
        ("alice.nguyen@acme.com", "owner"),  # teams cannot show an owner: the spec's stays
        ("bob@acme.io", "member"),
        ("carol.jones@acme.com", "member"),
    ]
    text = out.read_text()
    assert text.startswith(
        "# yaml-language-server: $schema=../../schema/insomnia-sso.schema.json\n#\n"
        "# Imported by `insomnia-sso import` at 2026-12-01T09:30:00Z from\n"
        f"#   the SCIM directory {peer.url} (profile okta),\n"
        "#   Okta's assignments in outputs.json,\n"
        "#   the spec enterprise.yaml (metadata, domains, SSO, prune).\n"
    )
    assert "FILL IN" not in text
    assert "  sso:\n    type: oidc\n    domainIdentifier: acme.io\n" in text
    assert done.stderr.splitlines() == [
        "unmapped team 'designers' (1 member(s): zoe.martin@acme.com): not in the spec; map "
        'it with --team "designers=ORGANIZATION:ROLE"',
        "oktaLogin bob.smith@acme.com written for bob@acme.io: its SCIM externalId, assigned "
        "in Okta",
        "organization retired of the given spec has no team in Insomnia: not written",
        "NOT IN THE SPEC: zoe.martin@acme.com is only in unmapped teams ('designers')",
        "left out 1 inactive user(s), deactivated in Insomnia: gone@acme.com",
        "prune is on in the given spec: the first plan takes the people the spec leaves out "
        "(inactive, or no email) out of the teams it adopts",
        "assigned in Okta, in no organization in Insomnia (no seat): frank.mueller@acme.com",
        f"Wrote 2 organization(s), 5 people to {out}; 1 active user(s) in Insomnia are not in "
        "it (above).",
    ]


# -- writing: never over a file without --force ---------------------------------------------


def test_out_refuses_to_overwrite_a_file_without_force(
    arrange: Callable[..., Peer], tmp_path: Path
) -> None:
    peer = arrange()
    out = tmp_path / "enterprise.yaml"
    out.write_text("mine\n")
    refused = run("import", "--scim", peer.url, "--enterprise", "acme", "--out", out)
    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert refused.stderr == f"error: {out} exists: pass --force to overwrite it; nothing written\n"
    assert out.read_text() == "mine\n"
    forced = run("import", "--scim", peer.url, "--enterprise", "acme", "--out", out, "--force")
    assert forced.exit_code == 0, forced.output
    assert out.read_text().startswith("# yaml-language-server: $schema=")
    assert list(tmp_path.glob(".enterprise.yaml.*")) == []  # no temporary file left behind
    nowhere = run("import", "--scim", peer.url, "--out", tmp_path / "no" / "enterprise.yaml")
    assert nowhere.exit_code == 1
    assert nowhere.stderr == (
        f"error: {tmp_path}/no/enterprise.yaml: no folder {tmp_path}/no to write it in; "
        "nothing written\n"
    )


# -- what cannot be mapped ------------------------------------------------------------------


def test_someone_in_both_teams_of_an_organization_is_an_admin_and_the_plan_says_what_moves(
    arrange: Callable[..., Peer], tmp_path: Path
) -> None:
    both = {"platform-admins": ["Alice.Nguyen@Acme.com"],
            "platform-members": ["Alice.Nguyen@Acme.com", "bob@acme.io"]}  # fmt: skip
    peer = arrange(PEOPLE[:2], both)
    out = tmp_path / "enterprise.yaml"
    done = run("import", "--scim", peer.url, "--enterprise", "acme", "--out", out)
    assert done.exit_code == 0
    assert done.stderr.splitlines()[:2] == [
        "alice.nguyen@acme.com is in both 'platform-admins' and 'platform-members': written as "
        "an admin of platform; the first plan drops them from 'platform-members' once "
        "'platform-admins' is linked",
        "the first plan updates 1 user(s) whose externalId or name Insomnia holds otherwise "
        "than the spec says it: bob@acme.io (externalId)",
    ]
    out.write_text(filled(out.read_text()))
    planned = run("plan", out, "--scim", peer.url, "--store", f"sqlite:///{tmp_path}/s.db",
                  "--format", "json")  # fmt: skip
    assert [(c["action"], c["kind"], c["key"], c.get("waiting_on")) for c in changes(planned)] == [
        ("update", "user", "bob@acme.io", None),  # no Okta outputs said bob.smith is his login
        ("update", "team", "platform-admins", None),
        ("update", "team", "platform-members", None),
        ("delete", "team_member", "platform-members/alice.nguyen@acme.com",
         "team_link platform-admins"),
    ]  # fmt: skip
    if peer.strict is not None:
        assert peer.strict.violations == []


@pytest.mark.parametrize(
    ("teams", "message"),
    [
        (
            ["--team", "payments crew=payments-api:member"],
            "error: --team 'payments crew=payments-api:member': Insomnia has no team named "
            "'payments crew' (did you mean 'Payments Crew'?)",
        ),
        (
            ["--team", "Payments Crew=payments-api:owner"],
            "error: --team 'Payments Crew=payments-api:owner': owner is never granted through a "
            "team (Insomnia's rule): map it to payments-api:admin, and make owners by hand",
        ),
        (
            ["--team", "Payments Crew=Payments:member"],
            "error: --team 'Payments Crew=Payments:member': 'Payments' is not an organization "
            "name (lower-case letters, digits and -)",
        ),
        (
            ["--team", "Payments Crew"],
            "error: --team 'Payments Crew': expected NAME=ORGANIZATION:ROLE, e.g. --team "
            '"Payments Admins=payments:admin"',
        ),
        (
            [
                "--team",
                "Payments Crew=payments-api:member",
                "--team",
                "designers=payments-api:member",
            ],
            "error: --team maps both 'Payments Crew' and 'designers' to payments-api members: "
            "the spec names one team per organization and role",
        ),
    ],
)
def test_a_team_mapping_that_cannot_hold_writes_nothing(
    arrange: Callable[..., Peer], tmp_path: Path, teams: list[str], message: str
) -> None:
    peer = arrange()
    out = tmp_path / "enterprise.yaml"
    done = run("import", "--scim", peer.url, *teams, "--out", out)
    assert done.exit_code == 1
    assert done.stderr == message + "\n"
    assert not out.exists()


def test_a_partial_read_writes_nothing(
    full_tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSOMNIA_SSO_SCIM_TOKEN", TOKEN)
    arrange_scim2(full_tenant, PEOPLE, TEAM_MEMBERS)

    def drop_one(body: dict[str, Any]) -> dict[str, Any]:
        body["Resources"] = body["Resources"][:-1]
        return body

    out = tmp_path / "enterprise.yaml"
    with FaultProxy(full_tenant.url) as proxy:
        proxy.add(Fault("GET", "/Groups", "edit", edit=drop_one, times=99))
        done = run("import", "--scim", proxy.url, "--out", out)
    assert done.exit_code == 1
    assert done.stderr.startswith("error: the read of the SCIM directory was incomplete (")
    assert done.stderr.endswith(
        "): a spec from a partial read would leave people out; nothing written\n"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Error: import needs a source: --scim URL (env INSOMNIA_SSO_SCIM_URL) or "
             "--members-csv FILE"),
        (["--scim", "http://127.0.0.1:9/scim", "--members-csv", "m.csv"],
         "Error: give --scim or --members-csv, not both"),
        (["--scim", "http://127.0.0.1:9/scim", "--accepted"],
         "Error: --accepted goes with --members-csv: with SCIM, people live in the directory"),
        (["--members-csv", "m.csv", "--team", "a=b:member"],
         "Error: --team maps SCIM teams; a member list names each organization"),
        (["--members-csv", "m.csv", "--accepted"],
         "Error: --accepted needs the enterprise's name: --spec or --enterprise"),
        (["--members-csv", "m.csv", "--enterprise", "Acme Inc"],
         "Error: --enterprise 'Acme Inc' is not a slug of lower-case letters, digits and '-'"),
        (["--members-csv", "m.csv", "--now", "yesterday"],
         "Error: --now 'yesterday' is not an ISO 8601 time (e.g. 2026-12-01T00:00:00Z)"),
    ],
)  # fmt: skip
def test_misuse_exits_1_with_one_line(args: list[str], message: str) -> None:
    done = run("import", *args)
    assert done.exit_code == 1
    assert done.stderr.splitlines()[-1] == message


def test_a_spec_that_is_not_valid_is_refused_with_its_problems(tmp_path: Path) -> None:
    base = tmp_path / "enterprise.yaml"
    base.write_text(BASE.replace("maxFraction: 0.25", "maxFraction: 2"))
    done = run("import", "--members-csv", "m.csv", "--spec", base)
    assert done.exit_code == 1
    assert done.stderr.splitlines() == [
        f"{base}:29: spec.prune.maxFraction: must be at most 1, got 2",
        "1 problem(s) found; nothing was written.",
    ]

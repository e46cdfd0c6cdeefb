"""`insomnia-sso review`: the PR comment, rendered from a real temporary git repository.

Each test commits a base spec, edits it (in the working tree or in a second commit) and
reads the comment a reviewer would read.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.render_review import COMMENT_LIMIT, MARKER
from tests.conftest import EXAMPLE_SPEC


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=ci@example.com", "-c", "user.name=CI", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository whose first commit holds the example enterprise."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "enterprise.yaml").write_text(EXAMPLE_SPEC.read_text())
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "base")
    monkeypatch.chdir(tmp_path)
    return tmp_path


Edit = Callable[[str], str]


def edit(repo: Path, *edits: Edit) -> None:
    path = repo / "specs" / "enterprise.yaml"
    text = path.read_text()
    for change in edits:
        text = change(text)
    path.write_text(text)


def replace(old: str, new: str) -> Edit:
    def change(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return change


THREE_JOIN = replace(
    "        - email: grace.lee@acme.com\n",
    "        - email: grace.lee@acme.com\n        - email: mona.ali@acme.com\n"
    "        - email: noah.berg@acme.io\n        - email: olga.sokol@acme.com\n",
)
ONE_LEAVES = replace("        - email: dmitri.ivanov@acme.com\n", "")
ONE_BECOMES_ADMIN = replace(
    "        - email: kenji.tanaka@acme.com\n",
    "        - email: kenji.tanaka@acme.com\n          role: admin\n",
)
ISSUER_CHANGES = replace("orgUrl: https://acme.okta.com", "orgUrl: https://acme-eu.okta.com")


def run_review(*args: str) -> Result:
    return CliRunner().invoke(main, ["review", "--base", "main", *args])


def test_a_realistic_change_reads_clearly_on_both_sides(repo: Path) -> None:
    edit(repo, THREE_JOIN, ONE_LEAVES, ONE_BECOMES_ADMIN, ISSUER_CHANGES)
    result = run_review()
    assert result.exit_code == 1, "an issuer change fails the review"
    comment = result.output
    lines = comment.splitlines()
    assert lines[0] == MARKER
    assert lines[1] == "## insomnia-sso review: `main` → `working tree`"
    # Loud things first: the failed risk check, the removal, the escalation.
    assert comment.index("**Risk checks failed**") < comment.index("**Access removed**")
    assert "> - acme: the issuer changes: everyone's login breaks until" in comment
    assert "> **Access removed** (1): `dmitri.ivanov@acme.com` from acme/platform" in comment
    assert (
        "> **Escalation** (1): `kenji.tanaka@acme.com` becomes **admin** in acme/payments-api"
        in comment
    )
    assert "Suggested labels: `access-removed` `access-granted` `sso-settings-changed`" in lines
    # One summary line per side.
    assert "**Okta**: 0 to add, 1 to change, 0 to remove (3 assigned, 1 unassigned)  " in lines
    assert (
        "**Insomnia**: 3 invited, 1 removed (pending invitations revoked; prune is off: members "
        "stay), 1 role(s) changed, domains +0 −0, SSO connection changes (okta.orgUrl)"
    ) in lines
    # Who gains and who loses access, by organization.
    assert (
        "| platform | `mona.ali@acme.com` (member)<br>`noah.berg@acme.io` (member)<br>"
        "`olga.sokol@acme.com` (member) | `dmitri.ivanov@acme.com` (member) | – |"
    ) in lines
    assert "| payments-api | – | – | `kenji.tanaka@acme.com`: member → **admin** |" in lines
    # Detail, collapsed.
    assert "<details><summary>acme: Okta app assignments (+3 −1)</summary>" in lines
    assert "| `okta.orgUrl` | `https://acme.okta.com` | `https://acme-eu.okta.com` |" in lines


ONE_STEPS_DOWN = replace(
    "        - email: esther.okafor@acme.com\n          role: admin\n",
    "        - email: esther.okafor@acme.com\n",
)
PRUNE_ON = replace(
    "    enabled: false\n    maxFraction: 0.1", "    enabled: true\n    maxFraction: 0.2"
)


def test_the_summary_says_what_this_specs_prune_setting_does(repo: Path) -> None:
    edit(repo, ONE_LEAVES, PRUNE_ON)
    result = run_review()
    assert (
        "**Insomnia**: 0 invited, 1 removed (pending invitations revoked; prune is on: members "
        "removed, at most 20% of an organization at once), 0 role(s) changed, domains +0 −0, "
        "SSO connection unchanged"
    ) in result.output.splitlines()


def test_a_demotion_is_marked_apart_from_an_escalation_in_every_format(repo: Path) -> None:
    edit(repo, ONE_BECOMES_ADMIN, ONE_STEPS_DOWN)
    comment = run_review().output
    assert "| platform | – | – | `esther.okafor@acme.com`: admin → member (demotion) |" in comment
    assert "| payments-api | – | – | `kenji.tanaka@acme.com`: member → **admin** |" in comment
    assert "> **Escalation** (1): `kenji.tanaka@acme.com` becomes **admin**" in comment
    assert "esther.okafor@acme.com` becomes" not in comment
    [acme] = json.loads(run_review("--format", "json").output)["enterprises"]
    assert acme["insomnia"]["access"] == [
        {
            "organization": "payments-api",
            "email": "kenji.tanaka@acme.com",
            "before": "member",
            "after": "admin",
            "escalation": True,
            "demotion": False,
        },
        {
            "organization": "platform",
            "email": "esther.okafor@acme.com",
            "before": "admin",
            "after": "member",
            "escalation": False,
            "demotion": True,
        },
    ]
    text = run_review("--format", "text").output.splitlines()
    assert "      ~ esther.okafor@acme.com: admin → member (demotion)" in text
    assert "      ~ kenji.tanaka@acme.com: member → admin (escalation)" in text


def test_text_for_a_terminal_is_aligned_and_has_no_markdown(repo: Path) -> None:
    edit(repo, THREE_JOIN, ONE_LEAVES, ONE_BECOMES_ADMIN, ONE_STEPS_DOWN, PRUNE_ON)
    result = run_review("--format", "text")
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        "insomnia-sso review: main → working tree",
        "",
        "Risk checks failed, this review fails:",
        # The bound is base's, 10%: raising maxFraction in the same change does not lift it.
        "  - acme: organization platform loses 1 of 7 people (14%), more than "
        "prune.maxFraction (10%)",
        "",
        "Access removed (1):",
        "  - dmitri.ivanov@acme.com from acme/platform",
        "",
        "Escalation (1):",
        "  - kenji.tanaka@acme.com becomes admin in acme/payments-api",
        "",
        "Suggested labels: access-removed, access-granted",
        "",
        "acme",
        "  Okta      0 to add, 1 to change, 0 to remove (3 assigned, 1 unassigned)",
        "  Insomnia  3 invited, 1 removed (pending invitations revoked; prune is on: members "
        "removed, at most 20% of an organization at once), 2 role(s) changed, domains +0 −0, "
        "SSO connection unchanged",
        "",
        "  Access by organization:",
        "    payments-api",
        "      ~ kenji.tanaka@acme.com: member → admin (escalation)",
        "    platform",
        "      - dmitri.ivanov@acme.com (member)",
        "      ~ esther.okafor@acme.com: admin → member (demotion)",
        "      + mona.ali@acme.com (member)",
        "      + noah.berg@acme.io (member)",
        "      + olga.sokol@acme.com (member)",
        "",
        "  Okta resources (1):",
        "    change  okta:index/groupMemberships:GroupMemberships  acme-members  users",
        "",
        "  Okta app assignments (+3 −1):",
        "    + mona.ali@acme.com",
        "    + noah.berg@acme.io",
        "    + olga.sokol@acme.com",
        "    - dmitri.ivanov@acme.com",
        "",
        "✗ review failed (risk checks or invalid spec)",
    ]


def test_text_is_the_default_on_a_terminal_and_markdown_in_a_pipe(repo: Path) -> None:
    edit(repo, ONE_STEPS_DOWN)
    command = [sys.executable, "-m", "reconciler", "review", "--base", "main"]
    piped = subprocess.run(command, capture_output=True, text=True, check=False, cwd=repo)
    assert piped.stdout.splitlines()[0] == MARKER
    leader, follower = pty.openpty()
    with subprocess.Popen(command, stdout=follower, stderr=subprocess.DEVNULL, cwd=repo) as proc:
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the command ended
                break
            if not chunk:
                break
            seen += chunk
        proc.wait(60)
    os.close(leader)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", seen.decode()).replace("\r\n", "\n")
    assert shown.splitlines()[0] == "insomnia-sso review: main → working tree"
    assert "      ~ esther.okafor@acme.com: admin → member (demotion)" in shown
    assert "<details>" not in shown
    assert "**" not in shown


def test_no_spec_change_says_so_and_passes(repo: Path) -> None:
    result = run_review()
    assert result.exit_code == 0
    assert "Suggested labels: `no-changes`" in result.output
    assert "✅ no risks" in result.output


def test_joiners_alone_pass_with_access_granted(repo: Path) -> None:
    edit(repo, THREE_JOIN)
    result = run_review()
    assert result.exit_code == 0, result.output
    assert "Suggested labels: `access-granted`" in result.output
    assert "Risk checks failed" not in result.output


def test_a_committed_head_revision_can_be_reviewed(repo: Path) -> None:
    edit(repo, THREE_JOIN)
    git(repo, "checkout", "-qb", "feature")
    git(repo, "commit", "-qam", "three join")
    edit(repo, ONE_LEAVES)  # uncommitted: must not show when --head is given
    result = run_review("--head", "feature", "--format", "json")
    assert result.exit_code == 0, result.output
    review = json.loads(result.output)
    [acme] = review["enterprises"]
    assert review["head"] == "feature"
    assert [c["email"] for c in acme["insomnia"]["access"]] == [
        "mona.ali@acme.com",
        "noah.berg@acme.io",
        "olga.sokol@acme.com",
    ]
    assert acme["okta"]["summary"] == {"add": 0, "change": 1, "remove": 0}


def test_a_base_ref_that_does_not_exist_is_a_clear_error(repo: Path) -> None:
    result = CliRunner().invoke(main, ["review", "--base", "origin/nope"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: git revision 'origin/nope' does not exist")
    assert "Traceback" not in result.output


def test_a_merge_conflict_marker_is_reported_in_the_comment(repo: Path) -> None:
    edit(
        repo,
        replace(
            "  name: acme\n", "<<<<<<< HEAD\n  name: acme\n=======\n  name: acme2\n>>>>>>> x\n"
        ),
    )
    result = run_review()
    assert result.exit_code == 1
    assert "> **The spec is invalid at head**; nothing can be applied:" in result.output
    assert "> specs/enterprise.yaml:9: merge conflict marker: resolve the conflict first" in (
        result.output
    )
    assert "whole enterprise is removed" not in result.output
    assert "no-changes" not in result.output


def test_an_invalid_spec_at_head_shows_its_errors(repo: Path) -> None:
    edit(repo, replace("role: admin", "role: boss"))
    result = run_review()
    assert result.exit_code == 1
    assert (
        "> specs/enterprise.yaml:29: spec.organizations[0].members[0].role: unknown role "
        "'boss'; expected owner, admin or member"
    ) in result.output


def test_an_enterprise_added_at_head_grants_everyone(repo: Path) -> None:
    other = (
        (repo / "specs" / "enterprise.yaml").read_text().replace("name: acme\n", "name: beta\n", 1)
    )
    (repo / "specs" / "beta.yaml").write_text(other)
    result = run_review("--format", "json")
    review = json.loads(result.output)
    beta = next(e for e in review["enterprises"] if e["name"] == "beta")
    assert beta["status"] == "added"
    assert len(beta["okta"]["assigned"]) == 12
    assert beta["okta"]["summary"]["add"] >= 6


def test_an_enterprise_removed_at_head_fails_loudly(repo: Path) -> None:
    (repo / "specs" / "enterprise.yaml").unlink()
    (repo / "specs" / "other.yaml").write_text(
        EXAMPLE_SPEC.read_text().replace("name: acme\n", "name: beta\n", 1)
    )
    result = run_review()
    assert result.exit_code == 1
    assert "> - acme: the whole enterprise is removed: 12 people lose SSO access" in result.output


def test_removing_the_sso_domain_fails(repo: Path) -> None:
    edit(
        repo,
        replace("    - acme.com\n    - acme.io\n", "    - acme.io\n"),
        replace("domainIdentifier: acme.com", "domainIdentifier: acme.io"),
        lambda text: text.replace("@acme.com", "@acme.io"),
    )
    result = run_review()
    assert result.exit_code == 1
    assert "domain acme.com, the SSO domainIdentifier, is removed" in result.output


def test_an_organization_left_without_an_admin_fails(repo: Path) -> None:
    edit(
        repo,
        replace(
            "        - email: hannah.schmidt@acme.com\n          role: admin\n",
            "        - email: hannah.schmidt@acme.com\n",
        ),
    )
    result = run_review()
    assert result.exit_code == 1
    assert "> - acme: organization payments-api is left with no admin" in result.output


def test_a_mass_removal_fails_naming_the_count(repo: Path) -> None:
    edit(
        repo,
        replace("        - email: carol.jones@acme.com\n", ""),
        replace("        - email: dmitri.ivanov@acme.com\n", ""),
    )
    result = run_review()
    assert result.exit_code == 1
    assert (
        "> - acme: organization platform loses 2 of 7 people (29%), more than "
        "prune.maxFraction (10%)"
    ) in result.output


def test_a_huge_change_stays_under_the_comment_limit_with_the_summary_intact(
    repo: Path,
) -> None:
    joiners = "".join(f"        - email: person{i:05d}@acme.com\n" for i in range(5000))
    edit(
        repo,
        replace(
            "        - email: grace.lee@acme.com\n",
            "        - email: grace.lee@acme.com\n" + joiners,
        ),
    )
    result = run_review()
    assert result.exit_code == 0, result.output[-500:]
    assert len(result.output) <= COMMENT_LIMIT
    assert "**Insomnia**: 5000 invited" in result.output
    assert "… and 4975 more" in result.output
    assert "detail section(s) trimmed to fit the comment" in result.output


# --- the custom domain the issuer is on --------------------------------------------------------

CUSTOM_DOMAIN_HINT = "  # signing in on your own domain? customDomain: login.acme.com\n"


def custom_domain(domain: str) -> Edit:
    """Set the example's commented-out customDomain to `domain`."""
    return replace(CUSTOM_DOMAIN_HINT, f"\n      customDomain: {domain}\n")


def commit_base(repo: Path, *edits: Edit) -> None:
    edit(repo, *edits)
    git(repo, "commit", "-qam", "base with a custom domain")


def test_adding_a_custom_domain_moves_the_issuer_and_fails_the_review(repo: Path) -> None:
    edit(repo, custom_domain("login.acme.com"))
    result = run_review()
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert (
        "> - acme: the issuer moves from acme.okta.com to login.acme.com (okta.customDomain "
        "added): everyone's login breaks until Insomnia's SSO connection holds the new issuer "
        "(pulumi up, then insomnia-sso apply, back to back); login.acme.com must exist and be "
        "verified in Okta first"
    ) in lines
    assert "Suggested labels: `sso-settings-changed`" in lines
    # Okta: the same authorization server, now issuing on the custom domain.
    assert "**Okta**: 0 to add, 1 to change, 0 to remove (0 assigned, 0 unassigned)  " in lines
    assert "| change | `okta:auth/server:Server` | `acme-issuer` | issuerMode |" in lines
    assert "| `okta.customDomain` | – | `login.acme.com` |" in lines


@pytest.mark.parametrize(
    ("head", "risk"),
    [
        (
            custom_domain("sso.acme.com"),
            "the issuer moves from login.acme.com to sso.acme.com (okta.customDomain changed): "
            "everyone's login breaks until Insomnia's SSO connection holds the new issuer "
            "(pulumi up, then insomnia-sso apply, back to back); sso.acme.com must exist and be "
            "verified in Okta first",
        ),
        (
            lambda text: text,  # back to the example, which names none
            "the issuer moves from login.acme.com to acme.okta.com (okta.customDomain removed): "
            "everyone's login breaks until Insomnia's SSO connection holds the new issuer "
            "(pulumi up, then insomnia-sso apply, back to back)",
        ),
    ],
    ids=["changed", "removed"],
)
def test_changing_or_removing_the_custom_domain_fails_the_review(
    repo: Path, head: Edit, risk: str
) -> None:
    commit_base(repo, custom_domain("login.acme.com"))
    (repo / "specs" / "enterprise.yaml").write_text(EXAMPLE_SPEC.read_text())
    edit(repo, head)
    result = run_review("--format", "json")
    assert result.exit_code == 1, result.output
    review = json.loads(result.output)
    assert review["risks"] == [f"acme: {risk}"]
    [acme] = review["enterprises"]
    before = "login.acme.com"
    after = None if "removed" in risk else "sso.acme.com"
    assert acme["insomnia"]["sso"] == {"okta.customDomain": {"before": before, "after": after}}


def test_a_change_beside_an_unchanged_custom_domain_is_no_issuer_change(repo: Path) -> None:
    commit_base(repo, custom_domain("login.acme.com"))
    edit(repo, THREE_JOIN)
    result = run_review()
    assert result.exit_code == 0, result.output
    assert "Risk checks failed" not in result.output
    assert "Suggested labels: `access-granted`" in result.output

"""The CI workflows call only `insomnia-sso` commands and options that exist, and guard secrets.

Every `run:` script is cut into simple shell commands (continuations joined, `${{ }}`
expressions and redirections set aside); each `insomnia-sso` call is then checked against the
real click group: the command must exist and every `--option` must be one it declares.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from reconciler.cli import main

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW_FILES = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])

PROGRAM = "insomnia-sso"
# Stands in for a `${{ }}` expression: one word, never a literal value (it holds a `$`).
PLACEHOLDER = "${{}}"
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Words that may come before the command itself in a simple command.
PREFIX_WORDS = frozenset(
    {"!", "{", "}", "if", "then", "else", "elif", "do", "while", "until", "time", "exec"}
    | {"command", "env", "nohup"}
)
HELP_OPTIONS = frozenset({"--help", "-h"})


# The parser ------------------------------------------------------------------------------


def shell_commands(script: str) -> list[list[str]]:
    """The simple commands of a shell script, as words, without redirections.

    Lines ending in a backslash are joined; `${{ }}` becomes PLACEHOLDER; `&&`, `||`, `|`,
    `;`, `&` and parentheses (also of `$( )`) separate commands; comments are dropped.
    """
    text = EXPRESSION.sub(PLACEHOLDER, script).replace("\\\n", " ")
    commands: list[list[str]] = []
    pending = ""
    for line in text.splitlines():
        if not pending and line.lstrip().startswith("#"):
            continue
        pending = f"{pending}\n{line}" if pending else line
        try:
            words = _words(pending)
        except ValueError:  # a quoted string goes on to the next line
            continue
        pending = ""
        commands += _simple_commands(words)
    if pending:
        raise ValueError(f"unbalanced quotes in a run script: {pending!r}")
    return commands


def invocations(script: str) -> list[list[str]]:
    """The arguments of every `insomnia-sso` (or `python -m reconciler`) call in a script."""
    found = []
    for words in shell_commands(script):
        while words and (words[0] in PREFIX_WORDS or ASSIGNMENT.match(words[0])):
            words = words[1:]
        if words and Path(words[0]).name == PROGRAM:
            found.append(words[1:])
        elif (
            len(words) >= 3
            and Path(words[0]).name.startswith("python")
            and words[1:3]
            == [
                "-m",
                "reconciler",
            ]
        ):
            found.append(words[3:])
    return found


def check_invocation(args: Sequence[str], group: click.Group) -> list[str]:
    """Problems with one call: an unknown command, an undeclared option, a wrong choice."""
    command: click.Command = group
    path = [PROGRAM]
    rest = list(args)
    while isinstance(command, click.Group):
        if rest and rest[0] in _options(command):
            rest.pop(0)  # e.g. `insomnia-sso --version`
            continue
        if not rest:
            return []
        name = rest.pop(0)
        subcommand = command.commands.get(name)
        if subcommand is None:
            return [f"`{' '.join(path)}` has no command {name!r}"]
        path.append(name)
        command = subcommand
    return _check_options(" ".join(path), command, rest)


def _words(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""  # only a word that starts with `#` opens a comment, as in bash
    words = list(lexer)
    comment = next((i for i, word in enumerate(words) if word.startswith("#")), len(words))
    return words[:comment]


def _is_operator(word: str) -> bool:
    return bool(word) and all(char in "();<>|&" for char in word)


def _simple_commands(words: list[str]) -> list[list[str]]:
    commands: list[list[str]] = []
    current: list[str] = []
    skip_target = False
    for word in words:
        if skip_target:
            skip_target = False
        elif _is_operator(word) and ("<" in word or ">" in word):
            if current and current[-1].isdigit():  # the fd of `2>`, `2>&1`
                current.pop()
            skip_target = True
        elif _is_operator(word):
            commands.append(current)
            current = []
        else:
            current.append(word)
    commands.append(current)
    return [command for command in commands if command]


def _options(command: click.Command) -> dict[str, click.Option]:
    return {
        name: param
        for param in command.params
        if isinstance(param, click.Option)
        for name in (*param.opts, *param.secondary_opts)
    }


def _check_options(where: str, command: click.Command, args: list[str]) -> list[str]:
    options = _options(command)
    problems = []
    words = iter(args)
    for word in words:
        if word == "--":
            break
        if not word.startswith("-") or word == "-":
            continue
        name, has_value, value = word.partition("=")
        option = options.get(name)
        if option is None:
            if name not in HELP_OPTIONS:
                problems.append(f"`{where}` has no option {name}")
            continue
        if option.is_flag or option.count:
            continue
        if not has_value:
            value = next(words, "")
            if not value:
                problems.append(f"`{where} {name}` needs a value")
                continue
        if isinstance(option.type, click.Choice) and "$" not in value:
            choices = [str(choice) for choice in option.type.choices]
            if value not in choices:
                problems.append(f"`{where} {name}` got {value!r}, not one of {choices}")
    return problems


# The workflows ---------------------------------------------------------------------------


def load(path: Path) -> dict[Any, Any]:
    workflow = yaml.safe_load(path.read_text())
    assert isinstance(workflow, dict), f"{path.name} is not a mapping"
    return workflow


def triggers(workflow: dict[Any, Any]) -> Any:
    # YAML 1.1 reads the bare key `on` as the boolean true.
    return workflow.get("on", workflow.get(True))


def steps(workflow: dict[Any, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


def workflow_invocations() -> list[Any]:
    cases = []
    for path in WORKFLOW_FILES:
        for job_name, step in steps(load(path)):
            for args in invocations(step.get("run", "")):
                name = args[0] if args else ""
                cases.append(pytest.param(args, id=f"{path.stem}:{job_name}:{name}"))
    return cases


def strings(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every string in a YAML document with the keys that lead to it."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings(value, (*path, index))
    elif isinstance(node, str):
        yield path, node


def secret_env_names(workflow: dict[Any, Any]) -> set[str]:
    """Names of environment variables, at any level, whose value comes from a secret."""
    return {
        path[-1]
        for path, value in strings(workflow)
        if len(path) >= 2 and path[-2] == "env" and "secrets." in value
    }


def test_the_workflows_exist() -> None:
    assert {path.name for path in WORKFLOW_FILES} >= {
        "pull-request.yml",
        "apply.yml",
        "drift.yml",
    }


def test_the_workflows_run_the_commands_the_pipelines_rely_on() -> None:
    invoked = {
        args[0]
        for path in WORKFLOW_FILES
        for _, step in steps(load(path))
        for args in invocations(step.get("run", ""))
        if args
    }
    assert invoked >= {"validate", "review", "apply", "drift"}


@pytest.mark.parametrize("args", workflow_invocations())
def test_every_insomnia_sso_call_in_a_workflow_exists_with_its_options(args: list[str]) -> None:
    assert check_invocation(args, main) == []


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_every_workflow_sets_its_permissions(path: Path) -> None:
    workflow = load(path)
    assert isinstance(workflow.get("permissions"), dict), "set least-privilege permissions"
    for job_name, job in workflow["jobs"].items():
        assert job.get("permissions", {}) != "write-all", job_name


# The hardening: pinned actions, no stored token, least privilege, no secret for forks ----

# `owner/repo[/path]@<40 hex>`, and the release it is, as a comment: `# v4.4.0`.
PINNED_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)\s*(?P<comment>#.*)?$")
FULL_SHA = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
RELEASE = re.compile(r"^#\s*v\d+\.\d+\.\d+$")
SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"
READ_ONLY = frozenset({"read", "none"})
# The only jobs that may write to GitHub, and what they may write. Neither runs code from
# the repository or holds a secret: they post what another job produced.
WRITERS = {
    ("pull-request.yml", "comment"): {"pull-requests"},
    ("drift.yml", "report"): {"issues"},
}
# Which commands a secret is for: a step that gets one runs one of these.
SECRET_USERS = {
    "PULUMI_ACCESS_TOKEN": ("pulumi preview", "pulumi up", "--stack"),
    "OKTA_API_CLIENT_ID": ("pulumi preview", "pulumi up"),
    "OKTA_API_PRIVATE_KEY": ("pulumi preview", "pulumi up"),
    "OKTA_API_PRIVATE_KEY_ID": ("pulumi preview", "pulumi up"),
    "INSOMNIA_SSO_STORE": ("insomnia-sso apply", "insomnia-sso plan", "insomnia-sso drift"),
    "INSOMNIA_SSO_SCIM_TOKEN": ("insomnia-sso apply", "insomnia-sso plan", "insomnia-sso drift"),
}


def uses_lines(path: Path) -> list[tuple[int, str, str]]:
    """Every `uses:` line of a workflow's text (YAML drops the comments), with its comment."""
    found = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = PINNED_USES.match(line)
        if match:
            found.append((number, match["ref"], (match["comment"] or "").strip()))
    return found


def jobs(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from load(path)["jobs"].items()


def write_scopes(workflow: dict[Any, Any], job: dict[str, Any]) -> set[str]:
    """What a job's token may write: its own permissions, or else the workflow's."""
    permissions = job.get("permissions", workflow.get("permissions"))
    if isinstance(permissions, dict):
        return {scope for scope, level in permissions.items() if level == "write"}
    if permissions in ("read-all", {}):
        return set()
    # write-all, or nothing set: the repository's default token, which may write.
    return {str(permissions or "the repository default")}


def secret_steps(job: dict[str, Any]) -> Iterator[tuple[dict[str, Any], set[str]]]:
    """The steps of a job that get a secret, with the names it arrives under."""
    for step in job.get("steps", []):
        names = {
            name for name, value in (step.get("env") or {}).items() if "secrets." in str(value)
        }
        if names:
            yield step, names


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_every_action_is_pinned_to_a_commit_with_its_release_in_a_comment(path: Path) -> None:
    lines = uses_lines(path)
    in_yaml = [step["uses"] for _, step in steps(load(path)) if "uses" in step]
    assert [ref for _, ref, _ in lines] == in_yaml, "a `uses:` the text scan did not see"
    unpinned = [f"{path.name}:{n}: {ref}" for n, ref, _ in lines if not FULL_SHA.match(ref)]
    unlabelled = [f"{path.name}:{n}: {ref}" for n, ref, tag in lines if not RELEASE.match(tag)]
    assert unpinned == []
    assert unlabelled == [], "say which release the commit is: `# vX.Y.Z`"


def test_each_action_is_pinned_to_one_release_everywhere() -> None:
    pins: dict[str, set[tuple[str, str]]] = {}
    for path in WORKFLOW_FILES:
        for _, ref, tag in uses_lines(path):
            action, _, sha = ref.partition("@")
            pins.setdefault(action, set()).add((sha, tag))
    assert pins, "no action found"
    assert {action: len(versions) for action, versions in pins.items() if len(versions) > 1} == {}


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_no_checkout_leaves_the_token_in_git_config(path: Path) -> None:
    checkouts = [
        (job_name, step)
        for job_name, step in steps(load(path))
        if str(step.get("uses", "")).startswith("actions/checkout@")
    ]
    assert checkouts
    # Nothing in these workflows pushes, so no checkout keeps credentials.
    kept = [
        job
        for job, step in checkouts
        if (step.get("with") or {}).get("persist-credentials") is not False
    ]
    assert kept == []


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_workflow_level_permissions_are_read_only(path: Path) -> None:
    permissions = load(path)["permissions"]
    assert isinstance(permissions, dict), "a mapping, never read-all or write-all"
    assert set(permissions.values()) <= READ_ONLY


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_every_job_says_which_permissions_it_needs(path: Path) -> None:
    undeclared = [name for name, job in jobs(path) if not isinstance(job.get("permissions"), dict)]
    assert undeclared == []


def test_only_the_named_jobs_may_write_and_only_what_they_need() -> None:
    writers = {}
    for path in WORKFLOW_FILES:
        workflow = load(path)
        for name, job in workflow["jobs"].items():
            if scopes := write_scopes(workflow, job):
                writers[path.name, name] = scopes
    assert writers == WRITERS


def test_the_writing_jobs_run_nothing_from_the_repository_and_hold_no_secret() -> None:
    for (file, name), _ in WRITERS.items():
        job = load(WORKFLOWS / file)["jobs"][name]
        assert "environment" not in job, name
        assert not any("secrets." in value for _, value in strings(job)), name
        assert not any(
            str(step.get("uses", "")).startswith(("actions/checkout@", "actions/setup-python@"))
            for step in job["steps"]
        ), name


def test_the_review_job_runs_pull_request_code_without_any_secret() -> None:
    review = load(WORKFLOWS / "pull-request.yml")["jobs"]["review"]
    assert "environment" not in review, "an environment would hand it that environment's secrets"
    assert [f"{'/'.join(map(str, where))}" for where, v in strings(review) if "secrets." in v] == []
    assert review["permissions"] == {"contents": "read"}
    # It does run the pull request's code: the review is made by the pull request's CLI.
    assert any(
        args[:1] == ["review"]
        for step in review["steps"]
        for args in invocations(step.get("run", ""))
    )


def test_pull_requests_from_forks_get_tests_and_review_but_no_secret() -> None:
    workflow = load(WORKFLOWS / "pull-request.yml")
    for name, job in workflow["jobs"].items():
        condition = str(job.get("if", ""))
        gets_secrets = "environment" in job or any("secrets." in v for _, v in strings(job))
        writes = bool(write_scopes(workflow, job))
        if gets_secrets or writes:
            assert SAME_REPOSITORY in condition, f"{name} is reachable from a fork"
            assert "||" not in condition, f"{name}: the fork check must not be or-ed away"
    # What a fork does get: the tests and the review, in the job summary.
    for name in ("test", "review"):
        assert SAME_REPOSITORY not in str(workflow["jobs"][name].get("if", "")), name
    review_runs = "\n".join(step.get("run", "") for step in workflow["jobs"]["review"]["steps"])
    assert "$GITHUB_STEP_SUMMARY" in review_runs
    # And jobs that hold secrets are those that check.
    assert {name for name, job in workflow["jobs"].items() if "environment" in job} == {
        "preview",
        "plan",
    }


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_secrets_reach_only_the_steps_that_use_them(path: Path) -> None:
    workflow = load(path)
    # Never for a whole workflow or job: only in a step's env or with.
    broad = [
        "/".join(map(str, where))
        for where, value in strings(workflow)
        if "secrets." in value and not (where[0] == "jobs" and where[2] == "steps")
    ]
    assert broad == []
    unused = [
        f"{job_name}: {step.get('name', step.get('run', ''))!r} gets {name}"
        for job_name, job in workflow["jobs"].items()
        for step, names in secret_steps(job)
        for name in names
        if not any(command in step.get("run", "") for command in SECRET_USERS.get(name, ()))
    ]
    assert unused == []


def test_the_insomnia_side_gets_the_scim_connector_from_env_on_its_steps_only() -> None:
    users = []
    for path in WORKFLOW_FILES:
        for job_name, step in steps(load(path)):
            commands = {args[0] for args in invocations(step.get("run", "")) if args}
            env = step.get("env") or {}
            if commands & {"apply", "plan", "drift"}:
                users.append(f"{path.stem}:{job_name}")
                assert (
                    env.get("INSOMNIA_SSO_SCIM_TOKEN") == "${{ secrets.INSOMNIA_SSO_SCIM_TOKEN }}"
                )
                assert "INSOMNIA_SSO_SCIM_URL" in env
            else:
                assert "INSOMNIA_SSO_SCIM_TOKEN" not in env, f"{path.stem}:{job_name}"
    assert sorted(users) == ["apply:apply", "apply:apply", "drift:drift", "pull-request:plan"]


def test_make_lint_runs_zizmor_offline_on_the_workflows() -> None:
    makefile = (ROOT / "Makefile").read_text()
    lint = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert lint, "Makefile has no lint target"
    assert "zizmor --offline .github/workflows/" in lint.group(1)


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_secrets_are_only_mapped_into_env_or_with(path: Path) -> None:
    misplaced = [
        "/".join(map(str, where))
        for where, value in strings(load(path))
        if "secrets." in value and (len(where) < 2 or where[-2] not in ("env", "with"))
    ]
    assert misplaced == []


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_secrets_are_never_echoed(path: Path) -> None:
    workflow = load(path)
    names = secret_env_names(workflow)
    leaks = []
    for job_name, step in steps(workflow):
        for words in shell_commands(step.get("run", "")):
            if words[:2] in (["set", "-x"], ["set", "-o"]) or words == ["env"]:
                leaks.append(f"{job_name}: {' '.join(words)}")
            if words[0] in ("echo", "printf", "printenv"):
                leaks += [
                    f"{job_name}: {words[0]} {name}"
                    for name in names
                    if any(f"${name}" in w or f"${{{name}}}" in w or w == name for w in words)
                ]
    assert leaks == []


def test_the_okta_provider_gets_a_service_app_key_not_an_api_token() -> None:
    for name in ("pull-request.yml", "apply.yml"):
        names = secret_env_names(load(WORKFLOWS / name))
        assert {"OKTA_API_CLIENT_ID", "OKTA_API_PRIVATE_KEY", "OKTA_API_PRIVATE_KEY_ID"} <= names
        assert "OKTA_API_TOKEN" not in names


def test_pull_requests_see_the_full_history_for_review() -> None:
    workflow = load(WORKFLOWS / "pull-request.yml")
    # The plan job reads one spec and needs no history.
    checkouts = [
        step
        for job, step in steps(workflow)
        if str(step.get("uses", "")).startswith("actions/checkout") and job != "plan"
    ]
    assert checkouts
    assert all(step["with"]["fetch-depth"] == 0 for step in checkouts)
    assert set(triggers(workflow)["pull_request"]["paths"]) >= {
        "specs/**",
        "infra/**",
        "reconciler/**",
        "policy/**",
    }


def test_the_review_comment_is_found_again_by_its_marker() -> None:
    text = (WORKFLOWS / "pull-request.yml").read_text()
    assert "<!-- insomnia-sso-review -->" in text
    assert "updateComment" in text
    assert "createComment" in text


def test_pulumi_runs_with_the_policy_pack() -> None:
    runs = [
        step.get("run", "")
        for path in WORKFLOW_FILES
        for _, step in steps(load(path))
        if "pulumi preview" in step.get("run", "") or "pulumi up" in step.get("run", "")
    ]
    assert len(runs) == 2
    assert all("--policy-pack policy" in run for run in runs)


def test_apply_runs_pulumi_up_before_insomnia_sso_apply_and_never_overlaps() -> None:
    workflow = load(WORKFLOWS / "apply.yml")
    runs = [step.get("run", "") for _, step in steps(workflow)]
    pulumi_up = next(i for i, run in enumerate(runs) if "pulumi up" in run)
    apply = next(i for i, run in enumerate(runs) if ["apply"] in [a[:1] for a in invocations(run)])
    assert pulumi_up < apply
    assert triggers(workflow)["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["cancel-in-progress"] is False


# Plans, saved and approved ---------------------------------------------------------------

UPLOAD = "actions/upload-artifact@"


def option_value(args: Sequence[str], name: str) -> str | None:
    """The value of `--name VALUE` (or `--name=VALUE`) in one call's arguments."""
    for i, word in enumerate(args):
        if word == name and i + 1 < len(args):
            return args[i + 1]
        if word.startswith(name + "="):
            return word.partition("=")[2]
    return None


def approved(calls: Sequence[Sequence[str]]) -> list[str]:
    """Every `apply` among calls in order, unless it passes --yes or applies a file that an
    earlier `plan --out FILE` of the same calls saved: the ones that could change nothing."""
    saved: set[str] = set()
    unapproved = []
    for args in calls:
        if args[:1] == ["plan"] and (out := option_value(args, "--out")):
            saved.add(Path(out).name)
        if args[:1] == ["apply"]:
            positional = [a for a in args[1:] if not a.startswith("-")]
            by_file = any(Path(a).name in saved for a in positional)
            if not by_file and not {"--yes", "-y"} & set(args):
                unapproved.append(" ".join(args))
    return unapproved


def test_every_apply_in_a_pipeline_is_approved_by_a_saved_plan_or_yes() -> None:
    for path in WORKFLOW_FILES:
        for job_name, job in load(path)["jobs"].items():
            calls = [
                args for step in job.get("steps", []) for args in invocations(step.get("run", ""))
            ]
            assert approved(calls) == [], f"{path.name}:{job_name}"
    sketch = [args for script in gitlab_sketch_scripts() for args in invocations(script)]
    assert approved(sketch) == [], "docs/pipelines.md"


def test_approved_finds_an_apply_without_approval() -> None:
    assert approved([["apply", "specs/"]]) == ["apply specs/"]
    assert approved([["apply", "a.plan"]]) == ["apply a.plan"]  # no plan saved it
    assert approved([["plan", "--out", "../a.plan"], ["apply", "a.plan"]]) == []
    assert approved([["apply", "specs/", "--yes"]]) == []


def saving_plan_steps(job: dict[str, Any]) -> list[tuple[int, str]]:
    """(index, file) of each step whose `insomnia-sso plan` saves the plan."""
    return [
        (i, out)
        for i, step in enumerate(job["steps"])
        for args in invocations(step.get("run", ""))
        if args[:1] == ["plan"] and (out := option_value(args, "--out"))
    ]


def uploads(job: dict[str, Any]) -> list[tuple[int, str]]:
    """(index, path text) of each upload-artifact step."""
    return [
        (i, str((step.get("with") or {}).get("path", "")))
        for i, step in enumerate(job["steps"])
        if str(step.get("uses", "")).startswith(UPLOAD)
    ]


def test_the_pull_request_plan_is_saved_kept_and_made_by_the_base_branch_code() -> None:
    workflow = load(WORKFLOWS / "pull-request.yml")
    job = workflow["jobs"]["plan"]
    assert SAME_REPOSITORY in job["if"]
    checkouts = {
        (step.get("with") or {}).get("path"): (step.get("with") or {}).get("ref")
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("actions/checkout@")
    }
    assert checkouts == {
        "trusted": "${{ github.event.pull_request.base.sha }}",
        "proposed": None,
    }
    runs = [step.get("run", "") for step in job["steps"]]
    # Only the base branch's code is installed and run; the pull request's spec is read.
    assert [words for run in runs for words in shell_commands(run) if words[0] == "make"] == [
        ["make", "-C", "trusted", "install"]
    ]
    [(index, out)] = saving_plan_steps(job)
    [plan_args] = invocations(job["steps"][index]["run"])
    assert plan_args[1].startswith("../proposed/specs/")
    assert job["steps"][index].get("working-directory") == "trusted"
    [(upload, paths)] = uploads(job)
    assert upload > index
    assert Path(out).name in paths.split()
    # The comment shows it.
    comment = workflow["jobs"]["comment"]
    assert "plan" in comment["needs"]
    assert "needs.plan.outputs.markdown" in str(comment["steps"])


def test_the_merge_saves_the_plan_after_pulumi_up_and_applies_exactly_that_file() -> None:
    job = load(WORKFLOWS / "apply.yml")["jobs"]["apply"]
    runs = [step.get("run", "") for step in job["steps"]]
    pulumi_up = next(i for i, run in enumerate(runs) if "pulumi up" in run)
    [(planned, out)] = saving_plan_steps(job)
    [(upload, paths)] = uploads(job)
    applies = [
        (i, args)
        for i, run in enumerate(runs)
        for args in invocations(run)
        if args[:1] == ["apply"]
    ]
    [(applied, args)] = applies
    assert pulumi_up < planned < upload < applied
    assert args[1] == out  # the file the plan step saved, first
    assert "--yes" not in args  # the file is the approval
    assert out in paths.split()


def test_drift_runs_on_a_schedule_and_reports_to_one_labelled_issue() -> None:
    workflow = load(WORKFLOWS / "drift.yml")
    assert {"schedule", "workflow_dispatch"} <= set(triggers(workflow))
    text = (WORKFLOWS / "drift.yml").read_text()
    assert "<!-- insomnia-sso-drift -->" in text
    assert "--label drift" in text


# The parser, against a made-up CLI -------------------------------------------------------


@click.group()
@click.version_option("0")
def fake() -> None:
    """A CLI shaped like insomnia-sso, to test the parser on its own."""


@fake.command("plan")
@click.argument("specs", nargs=-1)
@click.option("--stack")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown"]))
@click.option("--allow-mass-removal", is_flag=True)
def fake_plan(specs: tuple[str, ...], stack: str, output_format: str, **_: Any) -> None:
    """Plan."""


@fake.group("store")
def fake_store() -> None:
    """Store."""


@fake_store.command("accept")
@click.argument("organization")
@click.argument("email")
@click.option("--store", "store_url")
def fake_accept(organization: str, email: str, store_url: str) -> None:
    """Accept."""


def test_continuations_expressions_and_redirections_are_set_aside() -> None:
    script = (
        "insomnia-sso plan specs/ \\\n"
        "  --stack \"${{ vars.STACK || 'prod' }}\" --format markdown > plan.md 2>&1\n"
    )
    assert shell_commands(script) == [
        ["insomnia-sso", "plan", "specs/", "--stack", PLACEHOLDER, "--format", "markdown"]
    ]


@pytest.mark.parametrize(
    "script",
    [
        "insomnia-sso plan specs/ || status=$?",
        "make install && insomnia-sso plan specs/",
        "status=$(insomnia-sso plan specs/)",
        "FOO=1 insomnia-sso plan specs/",
        "if insomnia-sso plan specs/; then echo ok; fi",
        ".venv/bin/insomnia-sso plan specs/ | tee plan.txt",
        "python -m reconciler plan specs/",
    ],
)
def test_calls_are_found_wherever_the_shell_puts_them(script: str) -> None:
    assert invocations(script) == [["plan", "specs/"]]


@pytest.mark.parametrize(
    "script",
    [
        "# insomnia-sso plan --made-up",
        'echo "run insomnia-sso plan --made-up"',
        "insomnia-sso-helper plan",
    ],
)
def test_comments_arguments_and_lookalikes_are_not_calls(script: str) -> None:
    assert invocations(script) == []


def test_a_quoted_string_may_span_lines() -> None:
    script = 'gh issue create --body "line one\nline two" && insomnia-sso plan specs/'
    assert invocations(script) == [["plan", "specs/"]]


def test_valid_calls_pass() -> None:
    assert check_invocation(["plan", "specs/", "--stack", PLACEHOLDER], fake) == []
    assert check_invocation(["plan", "--format=json", "--allow-mass-removal"], fake) == []
    assert (
        check_invocation(["store", "accept", "platform", "a@acme.com", "--store", "x"], fake) == []
    )
    assert check_invocation(["--version"], fake) == []
    assert check_invocation(["plan", "--help"], fake) == []


def test_a_made_up_option_is_reported() -> None:
    assert check_invocation(["plan", "specs/", "--made-up", "x"], fake) == [
        "`insomnia-sso plan` has no option --made-up"
    ]


def test_an_option_of_another_command_is_reported() -> None:
    assert check_invocation(["store", "accept", "o", "e", "--format", "json"], fake) == [
        "`insomnia-sso store accept` has no option --format"
    ]


def test_an_unknown_command_is_reported() -> None:
    assert check_invocation(["reveiw", "--base", "main"], fake) == [
        "`insomnia-sso` has no command 'reveiw'"
    ]
    assert check_invocation(["store", "reject"], fake) == [
        "`insomnia-sso store` has no command 'reject'"
    ]


def test_a_choice_outside_the_declared_ones_is_reported() -> None:
    assert check_invocation(["plan", "--format", "md"], fake) == [
        "`insomnia-sso plan --format` got 'md', not one of ['text', 'json', 'markdown']"
    ]
    assert check_invocation(["plan", "--format", "$FORMAT"], fake) == []


def test_an_option_missing_its_value_is_reported() -> None:
    assert check_invocation(["plan", "--stack"], fake) == [
        "`insomnia-sso plan --stack` needs a value"
    ]


def test_the_parser_finds_a_made_up_flag_end_to_end() -> None:
    script = "insomnia-sso plan specs/ \\\n  --stack ${{ env.STACK }} --made-up > plan.md"
    problems = [problem for args in invocations(script) for problem in check_invocation(args, fake)]
    assert problems == ["`insomnia-sso plan` has no option --made-up"]


def doc_sketches() -> dict[str, Any]:
    """Every ```yaml block of docs/pipelines.md, parsed, by the heading above it."""
    text = (ROOT / "docs" / "pipelines.md").read_text()
    sketches = {}
    for block in re.finditer(r"```yaml\n(.*?)```", text, re.DOTALL):
        heading = re.findall(r"^#+ (.*)$", text[: block.start()], re.MULTILINE)[-1]
        sketches[heading] = yaml.safe_load(block.group(1))
    assert sketches, "docs/pipelines.md has no yaml sketch"
    return sketches


def sketch_scripts(sketch: Any) -> Iterator[str]:
    """Every script of a sketch: GitLab's `script` lines and GitHub's `run` steps."""
    for path, value in strings(sketch):
        if "script" in path or path[-1:] == ("run",):
            yield value


def gitlab_sketch_scripts() -> Iterator[str]:
    """Every script line of the `.gitlab-ci.yml` sketch in docs/pipelines.md."""
    yield from sketch_scripts(doc_sketches()["GitLab CI"])


def test_the_gitlab_sketch_in_the_docs_uses_real_commands_too() -> None:
    calls = [args for script in gitlab_sketch_scripts() for args in invocations(script)]
    assert {args[0] for args in calls} >= {"validate", "review", "plan", "apply", "drift"}
    assert [problem for args in calls for problem in check_invocation(args, main)] == []


def test_every_sketch_in_the_docs_calls_real_commands_and_approves_its_applies() -> None:
    sketches = doc_sketches()
    assert len(sketches) >= 2  # GitLab CI, and the merge split in two jobs
    for heading, sketch in sketches.items():
        calls = [args for script in sketch_scripts(sketch) for args in invocations(script)]
        assert calls, heading
        assert [problem for args in calls for problem in check_invocation(args, main)] == []
        assert approved(calls) == [], heading

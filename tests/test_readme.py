"""The README's two commands are the contract with a new user and with CI."""

from __future__ import annotations

import re

from salatag.corpus import REPO_ROOT


def readme_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README.md must open with a bash block of set-up commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_the_main_job_and_the_tests() -> None:
    main_job, tests = readme_commands()
    assert main_job.endswith("-m infer examples/ --out tags.jsonl")
    assert tests.endswith("-m pytest -q")
    for command in (main_job, tests):  # torch's CPU wheel first, then the project
        assert command.index("torch==2.13.0") < command.index("pip install -e")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_commands()[1] in ci.splitlines()

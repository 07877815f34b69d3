"""The command list: every command module is named in ``COMMAND_MODULES`` and loads on use."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from cyclemap.cli import COMMAND_MODULES, main
from cyclemap.config import DEFAULT_CITY

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "cyclemap" / "cli"


def test_every_command_module_is_named_once() -> None:
    modules = {p.stem for p in CLI.glob("*.py") if p.stem != "__init__"}
    assert sorted(COMMAND_MODULES.values()) == sorted(modules)


def test_each_module_defines_the_command_it_is_named_for() -> None:
    # in a fresh interpreter: importing a module adds its command to the group (a module may
    # bring another family with it, e.g. ``addresses`` shares ``boundaries``' helpers)
    code = textwrap.dedent(
        """
        import importlib, json
        from cyclemap.cli import COMMAND_MODULES, main
        defined = {}
        for name, module in COMMAND_MODULES.items():
            importlib.import_module(f"cyclemap.cli.{module}")
            defined[name] = name in main.commands
        print(json.dumps({"defined": defined, "all": sorted(main.commands)}))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["defined"] == {name: True for name in COMMAND_MODULES}
    assert found["all"] == sorted(COMMAND_MODULES)


def test_help_lists_every_command_with_its_summary() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:")[1]
    for name in COMMAND_MODULES:
        assert f"\n  {name} " in listed
    assert "Find the billing cycle" in listed  # lookup's summary, read from its loaded module


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["lookpu"])
    assert result.exit_code == 2
    assert "No such command 'lookpu'" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["lookup", "117 S SPRIGG ST"],
        ["notes", "list"],
        ["aliases", "list"],
        ["db", "upgrade"],
        ["boundaries", "validate", str(DEFAULT_CITY / "cycles.geojson")],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_as_a_program_every_command_resumes_the_collector(tmp_path: Path, args: list[str]) -> None:
    # the program pauses the collector while a command starts (``LazyGroup.__call__``); each
    # command turns it back on once started, so its own work is collected as usual
    code = textwrap.dedent(
        f"""
        import gc, json, sys
        from cyclemap.cli import main
        try:
            main({["--database-url", f"sqlite:///{tmp_path / 'c.sqlite'}", *args]!r})
        except SystemExit as exit:
            print(json.dumps([exit.code, gc.isenabled()]), file=sys.stderr)
        """
    )
    env = {"PATH": "/usr/bin:/bin", "CYCLEMAP_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert json.loads(done.stderr.strip().splitlines()[-1]) == [0, True], done.stderr

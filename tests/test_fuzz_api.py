"""The API fuzzed from its own OpenAPI document by schemathesis, in-process (issue 17).

Schemathesis's engine (what ``schemathesis run`` drives) runs every phase against the Flask app
through WSGI: the document's examples, coverage (boundary and invalid values of every
parameter, unexpected methods), fuzzing (Hypothesis-generated requests, valid and not) and the
stateful phase (links inferred between operations). Every check is on: no 5xx, status codes,
content types and headers as documented, answers valid against their schemas, valid requests
accepted and invalid ones refused. A fixed seed and a bounded number of examples per operation
keep the run the same on every machine and well under a minute.

Its pytest integration (``schemathesis.pytest.from_fixture``) needs a pytest private attribute
that pytest 9 removed, so the engine is used directly and its failures are reported here.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from schemathesis.engine.run import PhaseName

#: the same requests on every run
SEED = 17
#: examples per operation and phase (the whole run takes ~10-20 s on 2 cores)
MAX_EXAMPLES = 25
#: the route of the document (schemathesis does not fuzz the document it reads)
DOCUMENT = "GET /api/v1/openapi.json"
#: the phases that make requests
PHASES = ("examples", "coverage", "fuzzing", "stateful")


def config(seed: int = SEED, max_examples: int = MAX_EXAMPLES) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": seed,
            "generation": {
                "max-examples": max_examples,
                "mode": "all",  # valid and invalid requests
                "database": "none",  # nothing replayed from earlier runs, nothing written
                "deterministic": True,
            },
            "phases": {name: {"enabled": True} for name in PHASES},
            "checks": {"enabled": True},
        }
    )


def describe(recorder, case_id: str, check) -> str:
    """One failure, with what to send to see it again."""
    failure = check.failure_info.failure
    case = recorder.cases[case_id].value
    return (
        f"{recorder.label}: {check.name}: {failure.title}\n  {failure.message}\n"
        f"  {case.method} {case.formatted_path} query={case.query} headers={case.headers}"
    )


@pytest.fixture(scope="module")
def run(app):
    """The engine's run over the shared demo-city app (read only)."""
    return run_engine(app)


def run_engine(app, seed: int = SEED, max_examples: int = MAX_EXAMPLES) -> dict:
    """Run every phase once over ``app``; what was tried and what failed.

    To search harder by hand: ``run_engine(app, seed=3, max_examples=300)["failures"]``.
    """
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", app, config=config(seed, max_examples)
    )
    failures: list[str] = []
    scenarios: Counter = Counter()
    phases: dict[str, Status] = {}
    errors: list[str] = []
    finished = None
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            if event.skip_reason is None:
                scenarios[(event.phase.value, event.recorder.label)] += 1
            for case_id, checks in event.recorder.checks.items():
                failures += [describe(event.recorder, case_id, c) for c in checks if c.failure_info]
        elif isinstance(event, events.PhaseFinished):
            phases[event.phase.name.value] = event.status
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(repr(getattr(event, "value", None) or event.exception))
        elif isinstance(event, events.EngineFinished):
            finished = event
    return {
        "failures": sorted(set(failures)),
        "scenarios": scenarios,
        "phases": phases,
        "errors": errors,
        "finished": finished,
        # schemathesis leaves out the document's own route
        "operations": {f"GET {path}" for path in schema.raw_schema["paths"]} - {DOCUMENT},
        "with_parameters": {
            f"GET {path}"
            for path, item in schema.raw_schema["paths"].items()
            # a parameter of its own, not only the If-None-Match header every cached route has
            if any(
                p.get("$ref") != "#/components/parameters/IfNoneMatch"
                for p in item["get"].get("parameters", [])
            )
        },
    }


def test_schemathesis_finds_nothing(run):
    assert run["errors"] == []
    assert run["failures"] == [], "\n\n".join(run["failures"])
    assert run["finished"] is not None and not run["finished"].failures


def test_every_phase_ran_on_every_operation(run):
    for phase in (PhaseName.EXAMPLES, PhaseName.COVERAGE, PhaseName.FUZZING):
        assert run["phases"][phase.value] is Status.SUCCESS, phase
        tried = {label for (name, label) in run["scenarios"] if name == phase.value}
        # the examples phase sends the document's examples: every parameter has one
        expected = run["with_parameters"] if phase is PhaseName.EXAMPLES else run["operations"]
        assert tried == expected, phase
    assert len(run["operations"]) >= 8 and len(run["with_parameters"]) >= 5
    # the API has no links to follow: the stateful phase runs and finds no transitions
    assert run["phases"][PhaseName.STATEFUL_TESTING.value] in (Status.SUCCESS, Status.SKIP)

"""The OpenAPI document describes every API route, and real answers validate against it."""

from __future__ import annotations

import copy
import json
import re

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from cyclemap.server.openapi import document

from .test_api import address_of, demo_rows, tiny_app  # noqa: F401  (tiny_app is a fixture)

BASE = "urn:cyclemap:openapi"


@pytest.fixture(scope="module")
def doc() -> dict:
    return document()


@pytest.fixture(scope="module")
def registry(doc) -> Registry:
    return Registry().with_resource(BASE, Resource.from_contents(doc, DRAFT202012))


def validator(registry: Registry, pointer: str) -> Draft202012Validator:
    """A validator for the schema at ``pointer`` (``#/components/...``) inside the document."""
    return Draft202012Validator(
        {"$ref": f"{BASE}{pointer}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def resolve(doc: dict, node: dict) -> dict:
    """Follow a ``{"$ref": "#/..."}`` inside the document."""
    while "$ref" in node:
        target: object = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]  # type: ignore[index]
        node = target  # type: ignore[assignment]
    return node


def template_for(doc: dict, path: str) -> str:
    """The document's path template matching a concrete path."""
    for template in doc["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    raise AssertionError(f"{path} is not in the OpenAPI document")


def check(doc: dict, registry: Registry, response, path: str) -> dict:
    """Validate a real response against what the document declares for its path and status."""
    template = template_for(doc, path)
    declared = doc["paths"][template]["get"]["responses"]
    assert str(response.status_code) in declared, (template, response.status_code)
    answer = resolve(doc, declared[str(response.status_code)])
    content = answer["content"]
    assert response.mimetype in content, (template, response.mimetype, list(content))
    schema = content[response.mimetype]["schema"]
    body = json.loads(response.data)
    if "$ref" in schema:
        validator(registry, schema["$ref"].removeprefix(BASE)).validate(body)
    else:
        Draft202012Validator(schema).validate(body)
    return body


# -- the document itself ---------------------------------------------------------------------
def test_document_is_served_and_is_openapi_31(client, doc):
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.mimetype == "application/json"
    assert served.get_json() == json.loads(json.dumps(doc))
    assert doc["openapi"].startswith("3.1")
    assert {"title", "version"} <= set(doc["info"])


def test_every_ref_resolves(doc):
    refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(doc))
    assert refs
    for ref in set(refs):
        assert ref.startswith("#/"), ref
        resolve(doc, {"$ref": ref})


def test_every_schema_is_valid_draft_2020_12(doc):
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_every_api_route_is_documented_and_nothing_else(app, doc):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.rule in ("/healthz", "/readyz"):
            template = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            routes.add(template)
            assert template in doc["paths"], f"{rule.rule} is not in openapi.json"
            documented = set(doc["paths"][template]) - {"parameters", "summary"}
            assert documented == {m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert set(doc["paths"]) == routes
    for template, item in doc["paths"].items():
        names = {resolve(doc, p)["name"] for p in item["get"].get("parameters", [])}
        assert set(re.findall(r"\{([^}]+)\}", template)) <= names, template


# -- real answers of every status ------------------------------------------------------------
def test_matched_answers_validate(client, doc, registry):
    for row in demo_rows(10):
        response = client.get("/api/v1/lookup", query_string={"address": address_of(row)})
        body = check(doc, registry, response, "/api/v1/lookup")
        assert body["status"] == "matched"
    point = client.get("/api/v1/lookup?lon=-89.58&lat=37.33")
    assert check(doc, registry, point, "/api/v1/lookup")["status"] == "matched"


def test_outside_and_not_found_validate(client, doc, registry):
    outside = client.get("/api/v1/lookup?lon=-89.0&lat=37.0")
    assert check(doc, registry, outside, "/api/v1/lookup")["status"] == "outside_service_area"
    missing = client.get("/api/v1/lookup", query_string={"address": "qzx vvqk 99999 zzzz"})
    assert check(doc, registry, missing, "/api/v1/lookup")["status"] == "not_found"
    near = client.get("/api/v1/lookup", query_string={"address": "1 Academmy Lnn"})
    assert check(doc, registry, near, "/api/v1/lookup")["status"] in {
        "not_found",
        "ambiguous",
        "matched",
    }


def test_every_status_validates_on_a_tiny_city(tiny_app, doc, registry):  # noqa: F811
    c = tiny_app().test_client()
    seen = {}
    for query in ["101 N MAIN ST", "201 ELM ST", "500 FAR RD", "9 NOWHERE BLVD", "MAIN ST"]:
        response = c.get("/api/v1/lookup", query_string={"address": query})
        seen[query] = check(doc, registry, response, "/api/v1/lookup")["status"]
    assert seen["101 N MAIN ST"] == "matched"
    assert seen["201 ELM ST"] == "ambiguous"
    assert seen["500 FAR RD"] == "outside_service_area"
    assert seen["9 NOWHERE BLVD"] == "not_found"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/cycles",
        "/api/v1/cycles/1",
        "/api/v1/cycles/4",
        "/api/v1/suggest?q=1",
        "/api/v1/suggest?q=111+acad&limit=3",
        "/api/v1/boundaries.geojson",
        "/api/v1/problems/invalid-input",
        "/healthz",
        "/readyz",
    ],
)
def test_other_answers_validate(client, doc, registry, path):
    response = client.get(path)
    assert response.status_code == 200
    check(doc, registry, response, path.split("?")[0])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/lookup"),
        ("GET", "/api/v1/lookup?lon=x&lat=1"),
        ("GET", "/api/v1/suggest?q=1&limit=99"),
        ("GET", "/api/v1/cycles/9"),
        ("GET", "/api/v1/cycles/9/calendar.ics"),
        ("GET", "/api/v1/problems/nope"),
    ],
)
def test_problems_validate(client, doc, registry, method, path):
    response = client.open(path, method=method)
    assert response.status_code in {400, 404}
    check(doc, registry, response, path.split("?")[0])


def test_other_problems_validate_against_problem(client, registry, tiny_app):  # noqa: F811
    problem = validator(registry, "#/components/schemas/Problem")
    problem.validate(client.get("/api/v1/nope").get_json(force=True))
    problem.validate(client.post("/api/v1/cycles").get_json(force=True))
    limited = tiny_app(RATELIMIT="1/minute").test_client()
    limited.get("/healthz")
    limited.get("/api/v1/cycles")
    response = limited.get("/api/v1/cycles")
    assert response.status_code == 429
    problem.validate(response.get_json(force=True))


# -- the schemas are strict ------------------------------------------------------------------
def test_schemas_reject_what_the_contract_does_not_allow(client, registry):
    answer = validator(registry, "#/components/schemas/Answer")
    good = client.get("/api/v1/lookup?lon=-89.58&lat=37.33").get_json()
    answer.validate(good)
    broken = []
    extra = copy.deepcopy(good)
    extra["surprise"] = 1
    broken.append(extra)
    status = copy.deepcopy(good)
    status["status"] = "maybe"
    broken.append(status)
    missing = copy.deepcopy(good)
    del missing["boundary_version"]
    broken.append(missing)
    match = copy.deepcopy(good)
    match["location"]["match_type"] = "guess"
    broken.append(match)
    no_cycle = copy.deepcopy(good)
    no_cycle["cycle"] = None
    broken.append(no_cycle)
    bad_date = copy.deepcopy(good)
    bad_date["schedule"]["next_due_date"] = "next Tuesday"
    broken.append(bad_date)
    note_extra = copy.deepcopy(good)
    note_extra["notes"].append({"id": 1, "title": "t", "html": "", "updated": None, "cycles": []})
    note_extra["notes"][-1]["body"] = "raw markdown"
    broken.append(note_extra)
    for instance in broken:
        with pytest.raises(ValidationError):
            answer.validate(instance)

"""The OpenAPI document: what it covers, how it is served, and a property
test of the API against it."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.openapi import served_operations
from batch_dashboard.schemas import CreateBatchRequest
from tests.helpers import SEED_FIELDS
from tests.openapi_check import check_response, checked_client, served_document

# Per operation and generation mode; derandomized, so every run sends the same.
EXAMPLES = 30
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_float(item) for item in value)
    return False


@schemathesis.check
def documented_bodies_are_accepted(ctx: Any, response: Any, case: Any) -> None:
    """A create body the document calls valid is not refused as bad input.

    JSON Schema counts 5.0 as an integer, but the API refuses it on purpose
    (the document says so in words), so bodies with floats are not judged.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if case.method.upper() != "POST" or case.path != "/api/jokes/batches":
        return
    if response.status_code == 400 and not _has_float(case.body):
        raise AssertionError(f"a documented body was refused: {response.text}")


POSITIVE_CHECKS = [*CHECKS, documented_bodies_are_accepted]


@pytest.fixture
def quiet_app(make_app: Any) -> Flask:
    # No generator: the property test creates many batches it never waits for.
    return make_app(start=False)


def test_the_document_is_openapi_3_1_and_served(app: Flask) -> None:
    response = checked_client(app).get("/api/openapi.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.1.")
    assert document["components"]["schemas"]["CreateBatchRequest"]


def test_every_api_route_is_in_the_document(app: Flask) -> None:
    document = served_document(app)
    documented = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    served = served_operations(app)

    undocumented = sorted(served - documented)
    assert not undocumented, f"routes without documentation: {undocumented}"
    assert not sorted(documented - served), "documented operations nobody serves"


def test_the_seed_paths_and_shapes_are_documented_as_written(app: Flask) -> None:
    document = served_document(app)
    paths = document["paths"]
    schemas = document["components"]["schemas"]

    assert "post" in paths["/api/jokes/batches"]
    assert "get" in paths["/api/jokes/batches/{batchId}/status"]
    assert "post" in paths["/api/jokes/batches/{batchId}/cancel"]
    assert "get" in paths["/api/jokes/{jokeId}"]
    status = schemas["BatchStatusResponse"]
    assert SEED_FIELDS <= set(status["required"])
    assert set(schemas["CreateBatchResponse"]["required"]) == {"batchId", "status"}
    assert set(schemas["CreateBatchRequest"]["properties"]) == {"batchSize", "prompts"}


def test_unknown_fields_are_documented_as_rejected(app: Flask) -> None:
    document = served_document(app)
    request = document["components"]["schemas"]["CreateBatchRequest"]

    assert request["additionalProperties"] is False
    assert CreateBatchRequest.model_config["extra"] == "forbid"


def test_the_batch_paths_are_marked_as_the_flagged_v2_surface(app: Flask) -> None:
    document = served_document(app)

    batch_operations = [
        operation
        for path, item in document["paths"].items()
        if path.startswith("/api/jokes/batches")
        for operation in item.values()
    ]
    assert len(batch_operations) >= 4
    for operation in batch_operations:
        assert operation["tags"] == ["batches (v2)"]
        assert operation["x-feature-flag"]["env"] == (
            "BATCH_DASHBOARD_FEATURE_BATCHES_V2"
        )
    joke = document["paths"]["/api/jokes/{jokeId}"]["get"]
    assert "x-feature-flag" not in joke


def test_every_error_status_is_documented_with_the_error_shape(app: Flask) -> None:
    document = served_document(app)
    create = document["paths"]["/api/jokes/batches"]["post"]["responses"]

    for status in ("400", "401", "404", "413", "415", "422", "429"):
        schema = create[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
    assert "Retry-After" in create["429"]["headers"]
    cancel = document["paths"]["/api/jokes/batches/{batchId}/cancel"]["post"]
    assert "409" in cancel["responses"]


def test_the_batch_size_limit_follows_the_setting(make_app: Any) -> None:
    app = make_app({"MAX_BATCH_SIZE": 7}, start=False)
    document = served_document(app)

    size = document["components"]["schemas"]["CreateBatchRequest"]["properties"][
        "batchSize"
    ]
    assert size["maximum"] == 7
    assert size["minimum"] == 1
    assert size["type"] == "integer"


@pytest.mark.parametrize(
    "body, valid",
    [
        ({}, False),
        ({"prompts": []}, False),
        ({"batchSize": 1}, True),
        ({"batchSize": 1, "prompts": []}, True),
        ({"prompts": ["cats"]}, True),
        ({"prompts": ["cats"], "batchSize": 3}, True),
    ],
)
def test_the_create_body_needs_a_size_or_a_prompt(
    app: Flask, body: dict[str, Any], valid: bool
) -> None:
    document = served_document(app)
    schema = {
        "$ref": "#/components/schemas/CreateBatchRequest",
        "components": document["components"],
    }

    answer = checked_client(app).post("/api/jokes/batches", json=body)

    assert jsonschema_rs.validator_for(schema).is_valid(body) is valid
    assert (answer.status_code == 202) is valid, answer.get_json()


def test_the_batch_size_limit_is_never_above_the_queue(make_app: Any) -> None:
    app = make_app({"MAX_BATCH_SIZE": 70, "MAX_QUEUED_ITEMS": 50}, start=False)
    document = served_document(app)

    schema = document["components"]["schemas"]["CreateBatchRequest"]
    assert schema["properties"]["batchSize"]["maximum"] == 50


def test_the_docs_page_loads_everything_from_this_server(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/api/docs")

    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "//" not in re.sub(r"<!DOCTYPE[^>]*>", "", html).replace("://", "")
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) >= 3
    for asset in assets:
        assert asset.startswith("/api/docs/"), asset
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert response.get_data()
    init = client.get("/api/docs/init.js").get_data(as_text=True)
    assert '"/api/openapi.json"' in init
    assert "http" not in init


def test_the_docs_page_serves_only_its_own_files(app: Flask) -> None:
    client = checked_client(app)

    assert client.get("/api/docs/..%2Fpyproject.toml").status_code == 404
    assert client.get("/api/docs/index.html").status_code == 404


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_property_no_5xx_and_every_answer_conforms(quiet_app: Flask, mode: str) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", quiet_app)
    generation = schemathesis.GenerationMode(mode)
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        # Streams stay open for minutes; the SSE tests cover them.
        if not result.ok().path.endswith("/events")
    ]
    if mode == "negative":
        # Only operations that take input can be sent invalid input.
        operations = [
            op
            for op in operations
            if op.definition.raw.get("parameters")
            or op.definition.raw.get("requestBody")
        ]
    assert len(operations) >= 5
    checks = POSITIVE_CHECKS if mode == "positive" else CHECKS

    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=generation))
        def run(case: Any) -> None:
            case.call_and_validate(checks=checks)

        run()


@pytest.mark.browser
def test_the_docs_page_renders_every_operation_offline(
    make_app: Any, dash_duo: Any
) -> None:
    app = make_app(start=False)
    dash_duo.start_server(app.extensions["batch_dashboard_dash"])
    document = served_document(app)

    dash_duo.driver.get(dash_duo.server_url.rstrip("/") + "/api/docs")

    dash_duo.wait_for_element(".opblock-summary", timeout=20)
    text = dash_duo.driver.find_element("css selector", "#swagger-ui").text
    for path, item in document["paths"].items():
        assert path in text
        for operation in item.values():
            assert operation["summary"] in text
    assert "Unable to render" not in text
    requested = dash_duo.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert requested
    assert all(url.startswith(dash_duo.server_url.rstrip("/")) for url in requested)


def test_head_and_options_pass_the_checked_client(app: Flask) -> None:
    client = checked_client(app)

    head = client.head("/api/jokes/batches")
    options = client.options("/api/jokes/batches")

    assert head.status_code == 200
    assert head.headers["Cache-Control"] == "no-store"
    assert options.status_code == 200
    assert {"GET", "POST"} <= set(options.headers["Allow"].split(", "))


def test_the_checker_fails_an_answer_the_document_does_not_describe(
    app: Flask,
) -> None:
    plain = app.test_client()
    listing = plain.get("/api/jokes/batches")
    created = plain.post("/api/jokes/batches", json={"batchSize": 1})
    status = plain.get(created.headers["Location"])

    # A 200 page is not an answer of create, and a page is not a status.
    with pytest.raises(AssertionError, match="status not documented"):
        check_response(app, "POST", "/api/jokes/batches", listing)
    with pytest.raises(AssertionError, match="required property"):
        check_response(app, "GET", created.headers["Location"], listing)
    check_response(app, "GET", created.headers["Location"], status)

"""Bad input, case by case: each gets a 4xx in the one error shape, stores
nothing, and reveals no stack trace, SQL or file path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from tests.openapi_check import CheckedClient, checked_client

BATCHES = "/api/jokes/batches"
LEAKS = ("Traceback", 'File "', "/work", "site-packages", ".py", "sqlalchemy")
SQL = ("SELECT ", "INSERT ", "UPDATE ", "sqlite3", "OperationalError")


@pytest.fixture
def quiet(make_app: Any) -> Flask:
    return make_app(start=False)


@pytest.fixture
def api(quiet: Flask) -> CheckedClient:
    return checked_client(quiet)


def stored(app: Flask) -> tuple[int, int]:
    service = app.extensions["batch_dashboard"].service
    return service.batches.count(), service.jokes.count()


def assert_clean_error(response: Any, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.is_json
    error = response.get_json()["error"]
    assert error["code"] and error["message"] and error["requestId"]
    if field is not None:
        assert error["field"] == field, error
    text = response.get_data(as_text=True)
    for leak in LEAKS + SQL:
        assert leak not in text, f"{leak!r} in {text[:300]}"


def post_raw(api: CheckedClient, data: bytes, content_type: str | None) -> Any:
    headers = {"Content-Type": content_type} if content_type else {}
    return api.post(BATCHES, data=data, headers=headers)


@pytest.mark.parametrize(
    "body, field",
    [
        # numbers for batchSize: strict JSON integers from 1 to the limit
        ({"batchSize": 0}, "batchSize"),
        ({"batchSize": -1}, "batchSize"),
        ({"batchSize": -(10**30)}, "batchSize"),
        ({"batchSize": 1001}, "batchSize"),
        ({"batchSize": 10**30}, "batchSize"),
        ({"batchSize": 1.5}, "batchSize"),
        ({"batchSize": 5.0}, "batchSize"),
        ({"batchSize": True}, "batchSize"),
        ({"batchSize": False}, "batchSize"),
        ({"batchSize": "5"}, "batchSize"),
        ({"batchSize": [5]}, "batchSize"),
        ({"batchSize": {"n": 5}}, "batchSize"),
        # nulls
        ({"batchSize": None}, "batchSize"),
        ({"batchSize": None, "prompts": ["cats"]}, "batchSize"),
        ({"batchSize": 2, "prompts": None}, "prompts"),
        ({"batchSize": 2, "prompts": [None]}, "prompts.0"),
        (None, "body"),
        # prompts of the wrong shape
        ({"batchSize": 2, "prompts": "cats"}, "prompts"),
        ({"batchSize": 2, "prompts": [["cats"]]}, "prompts.0"),
        ({"batchSize": 2, "prompts": [{"topic": "cats"}]}, "prompts.0"),
        ({"batchSize": 2, "prompts": [7]}, "prompts.0"),
        ({"batchSize": 2, "prompts": ["x" * 501]}, "prompts.0"),
        ({"batchSize": 2, "prompts": ["a"] * 101}, "prompts"),
        ({"batchSize": 2, "prompts": ["fine", "nul\x00inside"]}, "prompts.1"),
        ({"batchSize": 2, "prompts": ["\x00"]}, "prompts.0"),
        # unknown fields are rejected, not ignored
        ({"batchSize": 2, "colour": "red"}, "colour"),
        ({"batchsize": 2}, "batchsize"),
        ({"batchSize": 2, "prompts": [], "__proto__": {}}, "__proto__"),
        ({"prompts": []}, "batchSize"),
        ({}, "batchSize"),
        # not an object
        ([], "body"),
        ([{"batchSize": 2}], "body"),
        ("batchSize=2", "body"),
        (2, "body"),
        (True, "body"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(
    api: CheckedClient, body: Any, field: str
) -> None:
    before = stored(api.application)

    response = post_raw(api, json.dumps(body).encode(), "application/json")

    assert_clean_error(response, 400, field)
    assert stored(api.application) == before


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{",
        b'{"batchSize": 5',
        b"{batchSize: 5}",
        b"{'batchSize': 5}",
        b'{"batchSize": 5} trailing',
        b'{"batchSize": 5,}',
        b"\xff\xfe\x00",
        b'{"batchSize": "\xc3\x28"}',
        b'{"batchSize": 1, "prompts": ["\\ud800"]}',
        b'{"batchSize": NaN}',
        b'{"batchSize": Infinity}',
        b'{"batchSize": 1e400}',
    ],
)
def test_malformed_json_is_a_400(api: CheckedClient, data: bytes) -> None:
    before = stored(api.application)

    response = post_raw(api, data, "application/json")

    assert_clean_error(response, 400)
    assert stored(api.application) == before


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 40_000 + b"1" + b"}" * 40_000,
        b'{"batchSize": 1, "prompts": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
        b'{"batchSize": 1, "prompts": [' + b"[" * 300 + b"]" * 300 + b"]}",
    ],
    ids=["arrays", "objects", "inside-prompts", "moderate"],
)
def test_deeply_nested_json_is_a_400_never_a_500(
    api: CheckedClient, data: bytes
) -> None:
    before = stored(api.application)

    response = post_raw(api, data, "application/json")

    assert_clean_error(response, 400)
    assert stored(api.application) == before


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "text/json-ish",
    ],
)
def test_a_body_that_is_not_json_is_a_415(
    api: CheckedClient, content_type: str | None
) -> None:
    before = stored(api.application)

    response = post_raw(api, b'{"batchSize": 2}', content_type)

    assert_clean_error(response, 415, "Content-Type")
    assert stored(api.application) == before


@pytest.mark.parametrize("size", [256 * 1024 + 1, 4 * 1024 * 1024])
def test_a_huge_body_is_a_413(api: CheckedClient, size: int) -> None:
    before = stored(api.application)
    padding = "x" * size
    data = json.dumps({"batchSize": 1, "prompts": [padding]}).encode()

    response = post_raw(api, data, "application/json")

    assert_clean_error(response, 413)
    assert stored(api.application) == before


BAD_IDS = [
    "batch x",
    "batch_%00",
    "batch_%0A",
    "b%C3%A4tch",
    "%3Cscript%3E",
    "..",
    "a" * 65,
    "a" * 5000,
    "'%20OR%201=1--",
]


@pytest.mark.parametrize("batch_id", BAD_IDS)
@pytest.mark.parametrize(
    "method, template, field",
    [
        ("get", BATCHES + "/{}/status", "batchId"),
        ("post", BATCHES + "/{}/cancel", "batchId"),
        ("get", "/api/jokes/{}", "jokeId"),
    ],
)
def test_a_malformed_or_huge_id_is_a_400(
    api: CheckedClient, method: str, template: str, field: str, batch_id: str
) -> None:
    before = stored(api.application)

    response = getattr(api, method)(template.format(batch_id))

    assert_clean_error(response, 400, field)
    assert stored(api.application) == before


@pytest.mark.parametrize(
    "path",
    [BATCHES + "/batch_0000000000000000/status", "/api/jokes/joke_0000000000000000"],
)
def test_a_well_formed_unknown_id_is_a_404(api: CheckedClient, path: str) -> None:
    assert_clean_error(api.get(path), 404)


@pytest.mark.parametrize(
    "prompt",
    [
        "emoji \U0001f600 and \u00e9",
        "right-to-left \u202e override",
        "zero\u200bwidth",
        "tab\there, newline\nthere, return\r",
        "bell \x07 and escape \x1b[31m red",
        "<b>bold</b> & <i>entities</i> &amp;",
        "'; DROP TABLE batches; --",
        "\U0001d54f\U0001d556\U0001d569",
    ],
)
def test_unicode_and_control_characters_are_kept_as_written(
    api: CheckedClient, prompt: str
) -> None:
    response = post_raw(
        api,
        json.dumps({"batchSize": 1, "prompts": [prompt]}).encode(),
        "application/json",
    )

    assert response.status_code == 202
    status = api.get(response.headers["Location"]).get_json()
    assert status["prompts"] == [prompt.strip()]
    assert stored(api.application)[0] == 1


@pytest.mark.parametrize(
    "data, key",
    [
        (b'{"batchSize": 1, "batchSize": 3}', "batchSize"),
        (b'{"batchSize": 2, "batchSize": 2}', "batchSize"),
        (b'{"prompts": ["a"], "batchSize": 1, "prompts": ["b"]}', "prompts"),
        (b'{"batchSize": 1, "x": {"y": 1, "y": 2}}', "y"),
        (b'{"batchSize": 1, "prompts": [{"a": 1, "a": 1}]}', "a"),
    ],
)
def test_a_duplicate_key_is_a_400_naming_it(
    api: CheckedClient, data: bytes, key: str
) -> None:
    before = stored(api.application)

    response = post_raw(api, data, "application/json")

    assert_clean_error(response, 400, key)
    assert "duplicate" in response.get_json()["error"]["message"]
    assert stored(api.application) == before

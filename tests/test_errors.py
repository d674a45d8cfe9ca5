"""One table of error codes, one body, one validation message."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from service import errors
from service.models import SearchRequest


def _subclasses(cls: type[errors.KBError]) -> list[type[errors.KBError]]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


def test_every_error_class_has_a_status_and_an_exit_code() -> None:
    for cls in _subclasses(errors.KBError):
        assert cls.code in errors.EDGE_CODES, cls
    assert errors.edge("unknown_type") == errors.Edge(422, 2)
    assert errors.edge("not_found") == errors.Edge(404, 2)
    assert errors.edge("index_stale") == errors.Edge(503, 1)
    assert errors.edge("something_new", 409) == errors.Edge(409, 2)  # a newer server's code: by status
    assert errors.edge("something_new", 502) == errors.Edge(502, 1)


def test_every_status_an_edge_sends_is_documented_in_openapi() -> None:
    from service.api.errors import ERROR_RESPONSES

    sent = {e.status for e in errors.EDGE_CODES.values() if e.status}
    assert sent - {405} <= set(ERROR_RESPONSES)


def test_error_body_is_the_one_shape() -> None:
    body = json.loads(errors.error_body("not_found", "no principle with id 'x'"))
    assert body == {"error": {"code": "not_found", "message": "no principle with id 'x'"}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"query": "   "}, "query: must contain some text, not only whitespace or invisible characters"),
        ({"query": "群", "k": 0}, "k: Input should be greater than or equal to 1"),
        ({"query": "群", "k": 1, "q": 1}, "q: Extra inputs are not permitted"),
    ],
)
def test_validation_messages_name_the_field(data: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError) as exc:
        SearchRequest.model_validate(data)
    assert errors.describe_validation(exc.value.errors()) == message
    assert errors.describe_validation(exc.value.errors(), prefix="arguments.") == "arguments." + message

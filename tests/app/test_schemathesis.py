"""Property-based: requests generated from the app's own OpenAPI schema (valid and invalid)
never produce a server error, and every response conforms to the schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from app.settings import Settings

# A small work cap keeps generated training requests quick.
APP = create_app(Settings(train_max_work=2e7))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=25, deadline=None,
          suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_produces_a_server_error(case):
    case.call_and_validate(checks=CHECKS)

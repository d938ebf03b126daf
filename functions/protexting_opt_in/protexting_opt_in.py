"""POST /v1/protexting/opt-ins: validate, record, queue, answer 202."""

from typing import Any

from textgate.http_api import ApiRequest, accepted, json_body, operation_handler, setup_logging
from textgate.logic.protexting import accept_opt_in
from textgate.registry import OperationName
from textgate.schemas.protexting import OptInRequest

setup_logging()


@operation_handler(OperationName.PROTEXTING_OPT_IN)
def handler(request: ApiRequest) -> dict[str, Any]:
    operation = accept_opt_in(request.client, json_body(request, OptInRequest))
    return accepted(operation.public())

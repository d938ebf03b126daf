"""GET, PUT and DELETE /v1/opt-outs/{phone}: read the suppression list, opt a number out, opt it back in."""

from typing import Any

from textgate.http_api import ApiRequest, api_handler, respond, setup_logging
from textgate.logic.opt_outs import parse_phone, set_opted_out, status
from textgate.schemas.sumotext import OptOutQuery
from textgate.validation import validate

setup_logging()


@api_handler
def handler(request: ApiRequest) -> dict[str, Any]:
    query = validate(OptOutQuery, request.query)
    phone = parse_phone(request.path_params.get("phone", ""), query.country)
    if request.method == "PUT":
        answer = set_opted_out(phone, True, source="api", changed_by=request.client)
    elif request.method == "DELETE":
        answer = set_opted_out(phone, False, source="api", changed_by=request.client)
    else:
        answer = status(phone)
    return respond(200, answer.model_dump())

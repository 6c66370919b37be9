"""Views: Open311 GeoReport v2, JSON only, public and read-only."""

import json

from flask import Response, request

from . import bp, services


def answer(data, status: int = 200) -> Response:
    """JSON as UTF-8 text (Chinese left readable), open to any web page."""
    body = json.dumps(data, ensure_ascii=False)
    response = Response(body, status, content_type="application/json; charset=utf-8")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def error(status: int, description: str) -> Response:
    """An error the way the standard shows it: an array of code and description."""
    return answer([{"code": status, "description": description}], status)


@bp.errorhandler(services.BadParameter)
def bad_parameter(exc: services.BadParameter):
    return error(400, exc.message)


@bp.get("/")
@bp.get("/discovery.json")
def discovery():
    """Where the API is and what it speaks."""
    return answer(services.discovery(request.url_root.rstrip("/") + bp.url_prefix))


@bp.get("/services.json")
def service_list():
    """The categories (service types)."""
    return answer(services.service_list())


@bp.get("/services/<code>.json")
def service_definition(code):
    """A category's extra questions: none."""
    definition = services.service_definition(code)
    return answer(definition) if definition else error(404, f"没有服务类型 {code}")


@bp.get("/requests.json")
def service_requests():
    """Opinions, newest first, filtered by the standard parameters."""
    return answer(services.service_requests(services.RequestQuery.from_args(request.args)))


@bp.get("/requests/<number>.json")
def service_request(number):
    """One opinion by its receipt number, as a one-element array."""
    found = services.service_request(number)
    return answer([found]) if found else error(404, f"没有回执编号为 {number} 的意见")


@bp.get("/<path:anything>")
def not_found(anything):
    """Anything else under the API, including other formats than JSON."""
    if anything.endswith(".xml"):
        return error(404, "本接口只提供 JSON 格式，请把 .xml 换成 .json")
    return error(404, "没有这个接口")

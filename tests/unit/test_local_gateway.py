"""The local stack's HTTP API adapter: routing, the payload 2.0 event, response mapping, SigV4, errors.

An HTTP API with Lambda proxy routes is created in moto (in-process) and served by the adapter on
127.0.0.1; requests go over real HTTP, the echo handler runs in the in-process Lambda runtime.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import zipfile
from typing import Any, Iterator, Optional

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto import mock_aws

from local import environ
from local.gateway import HttpGateway, Route, map_response, match_route, verify_sigv4
from local.lambdas import LambdaRuntime

ECHO = """
import json

def handler(event, context):
    if event["rawPath"] == "/boom":
        raise ValueError("boom")
    if event["rawPath"] == "/bare":
        return [1, 2]
    return {"statusCode": 201, "headers": {"x-echo": "yes"}, "cookies": ["a=b"], "body": json.dumps(event)}
"""
ROUTES = {
    "GET /items/{id}": "NONE",
    "GET /items/special": "NONE",
    "POST /items": "AWS_IAM",
    "ANY /files/{path+}": "NONE",
    "GET /boom": "NONE",
    "GET /bare": "NONE",
}


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("echo.py", source)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of an HTTP API served by the adapter."""
    with mock_aws():
        environ.install()
        iam, lambda_, apigw = (boto3.client(s, region_name="us-east-1") for s in ("iam", "lambda", "apigatewayv2"))
        role = iam.create_role(RoleName="echo", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        function = lambda_.create_function(
            FunctionName="echo", Runtime="python3.14", Role=role, Handler="echo.handler", Code={"ZipFile": _zip(ECHO)}
        )["FunctionArn"]
        api_id = apigw.create_api(Name="echo", ProtocolType="HTTP")["ApiId"]
        integration = apigw.create_integration(
            ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function, PayloadFormatVersion="2.0"
        )["IntegrationId"]
        for key, auth in ROUTES.items():
            apigw.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integration}", AuthorizationType=auth)
        runtime = LambdaRuntime(tmp_path_factory.mktemp("gateway"), "", "us-east-1")
        gateway = HttpGateway(runtime).start()
        try:
            yield f"{gateway.base_url}/{api_id}"
        finally:
            gateway.stop()
            runtime.stop()
            environ.uninstall()


def call(method: str, url: str, body: Optional[bytes] = None, headers: Optional[dict[str, str]] = None) -> tuple[int, Any, Any]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw, response_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, response_headers = error.code, error.read(), error.headers
    try:
        return status, json.loads(raw), response_headers
    except ValueError:
        return status, raw, response_headers


def signed_headers(method: str, url: str, body: bytes, service: str = "execute-api", secret: str = "testing") -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body, headers={"content-type": "application/json"})
    SigV4Auth(Credentials("testing", secret), service, "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_the_payload_2_event_carries_the_request(api_url: str) -> None:
    status, event, headers = call("GET", f"{api_url}/items/a%20b?x=1&x=2&y=", headers={"X-Mixed-Case": "v", "Cookie": "c=d; e=f"})
    assert status == 201
    assert headers["x-echo"] == "yes" and headers["Set-Cookie"] == "a=b"
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/a%20b"
    assert event["rawQueryString"] == "x=1&x=2&y="
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["pathParameters"] == {"id": "a b"}
    assert event["headers"]["x-mixed-case"] == "v" and "cookie" not in event["headers"]
    assert event["cookies"] == ["c=d", "e=f"]
    context = event["requestContext"]
    assert context["http"]["method"] == "GET" and context["http"]["path"] == "/items/a%20b"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["stage"] == "$default" and context["routeKey"] == "GET /items/{id}" and context["requestId"]
    assert context["domainName"] == api_url.split("/")[2]
    assert "body" not in event and event["isBase64Encoded"] is False


def test_literal_routes_win_over_parameters_and_greedy_paths_match_deep(api_url: str) -> None:
    assert call("GET", f"{api_url}/items/special")[1]["routeKey"] == "GET /items/special"
    status, event, _ = call("DELETE", f"{api_url}/files/a/b/c.txt")
    assert status == 201 and event["routeKey"] == "ANY /files/{path+}"
    assert event["pathParameters"] == {"path": "a/b/c.txt"}


def test_bodies_are_text_or_base64(api_url: str) -> None:
    status, event, _ = call("PUT", f"{api_url}/files/x", body=b'{"a": 1}', headers={"content-type": "application/json"})
    assert status == 201 and event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False
    status, event, _ = call("PUT", f"{api_url}/files/x", body=b"\x00\xff", headers={"content-type": "application/octet-stream"})
    assert event["isBase64Encoded"] is True and event["body"] == "AP8="


@pytest.mark.parametrize("method, path", [("GET", "/nowhere"), ("POST", "/items/1"), ("GET", "/items"), ("GET", "/")])
def test_unknown_routes_are_404(api_url: str, method: str, path: str) -> None:
    assert call(method, f"{api_url}{path}")[:2] == (404, {"message": "Not Found"})


def test_unknown_api_is_404(api_url: str) -> None:
    base = api_url.rsplit("/", 1)[0]
    assert call("GET", f"{base}/nosuchapi/items/1")[:2] == (404, {"message": "Not Found"})


def test_lambda_failure_is_500_and_a_bare_value_is_200_json(api_url: str) -> None:
    assert call("GET", f"{api_url}/boom")[:2] == (500, {"message": "Internal Server Error"})
    status, body, headers = call("GET", f"{api_url}/bare")
    assert (status, body) == (200, [1, 2]) and headers["Content-Type"] == "application/json"


def test_bodies_over_10_mb_are_413(api_url: str) -> None:
    status, body, _ = call("PUT", f"{api_url}/files/big", body=b"x" * (10 * 1024 * 1024 + 1))
    assert (status, body) == (413, {"message": "Request Entity Too Large"})


def test_aws_iam_routes_need_a_valid_sigv4_signature(api_url: str) -> None:
    url, body = f"{api_url}/items", b'{"n": 1}'
    assert call("POST", url, body)[:2] == (403, {"message": "Forbidden"})

    status, event, _ = call("POST", url, body, signed_headers("POST", url, body))
    assert status == 201, event
    assert event["requestContext"]["authorizer"]["iam"]["accessKey"] == "testing"
    assert event["body"] == '{"n": 1}'

    tampered = signed_headers("POST", url, body)
    assert call("POST", url, b'{"n": 2}', tampered)[0] == 403
    assert call("POST", url, body, signed_headers("POST", url, body, secret="wrong"))[0] == 403
    assert call("POST", url, body, signed_headers("POST", url, body, service="lambda"))[0] == 403


def test_verify_sigv4_explains_refusals() -> None:
    url, body = "http://127.0.0.1:9/api/items", b"{}"
    headers = {k.lower(): [v] for k, v in signed_headers("POST", url, body).items()}
    headers["host"] = ["127.0.0.1:9"]  # what an HTTP client sends (botocore signs the URL's host)
    assert verify_sigv4("POST", url, headers, body, "us-east-1") is None
    assert "region" in verify_sigv4("POST", url, headers, body, "eu-west-1")
    assert verify_sigv4("POST", url + "x", headers, body, "us-east-1") == "signature does not match"
    old = dict(headers, **{"x-amz-date": ["20200101T000000Z"]})
    assert verify_sigv4("POST", url, old, body, "us-east-1") is not None
    assert "Authorization" in verify_sigv4("POST", url, {}, body, "us-east-1")


def test_route_matching_rules() -> None:
    routes = [Route(key, key.split(" ")[0], key.split(" ", 1)[1] if " " in key else "/", "NONE", None)
              for key in ("GET /a/{x}", "GET /a/b", "ANY /a/{x}", "GET /p/{rest+}")]
    assert match_route(routes, "GET", "/a/b")[0].route_key == "GET /a/b"
    assert match_route(routes, "GET", "/a/z") == (routes[0], {"x": "z"})
    assert match_route(routes, "POST", "/a/z")[0].route_key == "ANY /a/{x}"
    assert match_route(routes, "GET", "/p/1/2")[1] == {"rest": "1/2"}
    assert match_route(routes, "GET", "/p") is None
    assert match_route(routes + [Route("$default", "ANY", "/", "NONE", None)], "GET", "/zzz")[0].route_key == "$default"


def test_response_mapping() -> None:
    assert map_response({"statusCode": 204}) == (204, [], b"")
    status, headers, body = map_response({"statusCode": 200, "body": "aGk=", "isBase64Encoded": True,
                                          "headers": {"content-length": "99", "x": "1"}})
    assert (status, headers, body) == (200, [("x", "1")], b"hi")
    assert map_response({"a": 1}) == (200, [("Content-Type", "application/json")], b'{"a": 1}')
    assert map_response("text")[2] == b'"text"'

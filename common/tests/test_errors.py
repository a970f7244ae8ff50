import logging


def test_unknown_route_is_json_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Not found"}


def test_malformed_json_is_a_400(client):
    response = client.post("/echo", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "Malformed request body"}


def test_hostile_json_is_a_400_not_a_500(client):
    for body in ("[" * 50_000, '{"n": 1' + "0" * 5000 + "}", "[NaN]", '{"x": 1e999}'):
        response = client.post("/echo", data=body, content_type="application/json")
        assert (response.status_code, response.json()) == (400, {"error": "Malformed request body"})


def test_a_body_over_the_limit_is_a_json_413_before_it_is_read(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = client.post("/echo", data='{"name": "' + "x" * 200 + '"}', content_type="application/json")
    assert (response.status_code, response.json()) == (413, {"error": "Request body too large"})
    assert client.post("/echo", data='{"name": "x"}', content_type="application/json").status_code == 200


def test_the_default_body_limit_is_64_kib():
    from django.conf import settings

    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 64 * 1024


def test_wrong_method_is_a_json_405(client):
    response = client.get("/echo")
    assert response.status_code == 405
    assert response.json() == {"error": "Method not allowed"}


def test_api_error_keeps_its_message_and_status(client):
    response = client.get("/refuse")
    assert response.status_code == 400
    assert response.json() == {"error": "User already exists"}


def test_unexpected_exception_is_a_500_without_internals(client, caplog):
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR):
        response = client.get("/crash")
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error"}
    assert "secret internals" not in response.content.decode()
    assert "secret internals" in caplog.text


def test_a_database_failure_is_a_503_to_retry_logged_with_its_cause(client, caplog):
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR):
        response = client.get("/database-gone")
    assert response.status_code == 503
    assert response.json() == {"error": "Service unavailable"}
    assert "server closed the connection" not in response.content.decode()
    assert "server closed the connection" in caplog.text


def test_every_response_carries_a_request_id(client):
    response = client.get("/health", HTTP_X_REQUEST_ID="req-123")
    assert response["X-Request-ID"] == "req-123"
    generated = client.get("/health")["X-Request-ID"]
    assert len(generated) == 32


def test_a_malformed_request_id_is_replaced(client):
    response = client.get("/health", HTTP_X_REQUEST_ID="bad id\twith spaces")
    assert response["X-Request-ID"] != "bad id\twith spaces"
    assert len(response["X-Request-ID"]) == 32


def test_validation_errors_use_express_validators_shape_without_password_values(client):
    response = client.post("/signup", data={"email": "not-an-email", "password": "short"}, content_type="application/json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    by_path = {error["path"]: error for error in errors}
    assert set(by_path) == {"email", "password"}
    assert by_path["email"]["type"] == "field"
    assert by_path["email"]["location"] == "body"
    assert by_path["email"]["value"] == "not-an-email"
    assert isinstance(by_path["email"]["msg"], str) and by_path["email"]["msg"]
    assert "value" not in by_path["password"]
    assert "short" not in response.content.decode()

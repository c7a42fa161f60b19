"""The API's documentation: local assets only, the bearer key declared, `/api/v1` only, and a
response model for every operation."""

from __future__ import annotations

import re

from app.web import STATIC_DIR

METHODS = {"get", "post", "put", "patch", "delete"}


def operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [(method.upper(), path, op) for path, item in schema["paths"].items()
            for method, op in item.items() if method in METHODS]


def test_the_document_lists_only_the_api_and_declares_the_bearer_key(client):
    schema = client.get("/openapi.json").json()
    paths = list(schema["paths"])
    assert paths and all(p.startswith("/api/v1/") for p in paths), paths
    assert "/accounts" not in paths and "/login" not in paths and "/docs" not in paths
    scheme = schema["components"]["securitySchemes"]["apiKey"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert schema["security"] == [{"apiKey": []}]
    tags = {op["tags"][0] for _, _, op in operations(schema)}
    assert {"accounts", "images", "takedowns", "cell searches", "prisoners"} <= tags


def _named(schema: dict | None) -> bool:
    """A model of its own (or a list of one), not a bare `object` whose fields are unknown."""
    if not schema:
        return False
    return "$ref" in schema or (schema.get("type") == "array"
                                and "$ref" in schema.get("items", {}))


def test_every_operation_answers_with_a_described_model(client):
    """Every 2xx answer of every operation is a named response model (or 204, no body)."""
    schema = client.get("/openapi.json").json()
    bare = []
    for method, path, op in operations(schema):
        ok = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        described = bool(ok) and all(
            code == "204" or any(_named(media.get("schema"))
                                 for media in r.get("content", {}).values())
            for code, r in ok.items())
        if not described:
            bare.append(f"{method} {path}")
    assert bare == []


def test_docs_page_uses_only_local_assets(as_role, client):
    signed_in, _ = as_role("analyst")
    page = signed_in.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/static/swagger/swagger-ui-bundle.js" in sources
    assert "/static/swagger/swagger-ui.css" in sources and "/static/swagger/init.js" in sources
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]
    assert "<script>" not in page.text  # the CSP allows no inline script
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js", "LICENSE"):
        assert (STATIC_DIR / "swagger" / name).stat().st_size > 0
        if name != "LICENSE":
            assert client.get(f"/static/swagger/{name}").status_code == 200


def test_docs_need_a_sign_in_and_redoc_is_not_offered(client):
    assert client.get("/docs", follow_redirects=False).status_code in (302, 303, 401)
    assert client.get("/redoc").status_code == 404


def test_without_api_docs_there_is_neither_page_nor_document(tmp_path, sqlite_url):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    app = create_app(Settings(data_dir=tmp_path, database_url=sqlite_url, api_docs=False,
                              audit_link_seconds=0, match_workers=0))
    bare = TestClient(app)  # no lifespan: nothing but routing is asked of it
    assert bare.get("/openapi.json").status_code == 404
    assert bare.get("/docs").status_code == 404
    app.state.engine.dispose()
    app.state.match_engine.close()


def test_every_refusal_is_documented_with_the_one_error_shape(client, as_role):
    """A client reads the same {error, message, detail} for every refusal, and the document
    says which refusals each operation may give (404 where the address or the body names a
    record: a takedown's account, a cell search's attribution)."""
    schema = client.get("/openapi.json").json()
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message"}
    for method, path, op in operations(schema):
        codes = set(op["responses"])
        assert {"401", "403", "422", "429"} <= codes, (method, path)
        names_record = path in {"/api/v1/takedowns", "/api/v1/searches"} and method == "POST"
        assert ("404" in codes) == ("{" in path or names_record), (method, path)
        for code in codes - {"200", "201", "202", "204"}:
            media = op["responses"][code]["content"]["application/json"]
            assert media["schema"] == {"$ref": "#/components/schemas/Error"}, (method, path)
    signed_in, _ = as_role("analyst")
    refused = signed_in.get("/api/v1/accounts?status=nonsense")
    assert refused.status_code == 422 and set(refused.json()) >= set(error["required"])

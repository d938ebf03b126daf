"""Swagger UI for the local stack at /docs, reading /v1/openapi.json with the local client's API key.

The static files come from the swagger-ui-py package; the page is served on 127.0.0.1 only.
"""

from __future__ import annotations

import html
import json
from importlib.util import find_spec
from pathlib import Path

ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui-standalone-preset.js": "application/javascript",
    "favicon-32x32.png": "image/png",
}

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>textgate API (local)</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script>
    const apiKey = __KEY__;
    window.ui = SwaggerUIBundle({
      url: "/v1/openapi.json",
      dom_id: "#swagger-ui",
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
      requestInterceptor: (request) => { request.headers["x-api-key"] = apiKey; return request; },
      onComplete: () => window.ui.preauthorizeApiKey("apiKey", apiKey),
    });
  </script>
</body>
</html>
"""


def _static_dir() -> Path | None:
    spec = find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "static"


def serve(path: str, api_key: str) -> tuple[int, str, bytes] | None:
    if path in ("/docs", "/docs/"):
        page = PAGE.replace("__KEY__", json.dumps(api_key))
        return 200, "text/html; charset=utf-8", page.encode()
    name = path.removeprefix("/docs/")
    static = _static_dir()
    if name in ASSETS and static is not None and (static / name).exists():
        return 200, ASSETS[name], (static / name).read_bytes()
    if path.startswith("/docs/"):
        return 404, "text/plain; charset=utf-8", f"no such file: {html.escape(name)}".encode()
    return None

"""``GET /api/docs/``: Swagger UI for the public API document, entirely from the gateway.

The page and its assets come from the installed drf-spectacular-sidecar
package, served here under ``/api/docs/``: no CDN, nothing outside the gateway,
so the page works offline and its CSP allows only its own origin. The gateway
serves the files itself rather than through staticfiles: it has no static
root, and a wrong method or an unknown file still gets the JSON errors of
every other path.
"""

from __future__ import annotations

from pathlib import Path

import drf_spectacular_sidecar

SWAGGER_UI_DIR = (
    Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar" / "swagger-ui-dist"
)
# File name -> Content-Type, of the sidecar's files the page loads.
SWAGGER_UI_FILES = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
ASSET_MAX_AGE = 24 * 3600

# Inline scripts are not allowed, so the page's own start-up code is a file too.
# validatorUrl: null keeps Swagger UI from sending the document to swagger.io.
INIT_SCRIPT = """\
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/schema/",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    persistAuthorization: false,
    validatorUrl: null
  });
});
"""

PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Accounts API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/swagger-init.js"></script>
</body>
</html>
"""

# Swagger UI sets style attributes as it renders, and draws icons from data: URIs.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

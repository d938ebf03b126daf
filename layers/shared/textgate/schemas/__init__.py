"""Request and answer models of the HTTP API: validation at the edge, and the OpenAPI document's schemas."""

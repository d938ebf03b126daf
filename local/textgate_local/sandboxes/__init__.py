"""Provider sandboxes: HTTP servers that check requests as each provider would and answer as it documents.

The local stack serves one for every provider whose base URL is not set; the contract tests use the same
servers, with faults injected on purpose.
"""

from textgate.providers.outcome import REDACTED, ProviderOutcome


def test_a_credential_echoed_anywhere_in_an_outcome_is_blanked_out() -> None:
    outcome = ProviderOutcome.succeeded(
        {"description": "key s3cr3t ok", "contact": {"Notes": ["s3cr3t", 7]}, "count": 2}
    ).without("s3cr3t")
    assert outcome.result == {"description": f"key {REDACTED} ok", "contact": {"Notes": [REDACTED, 7]}, "count": 2}
    refused = ProviderOutcome.rejected("unauthorized", "bad token s3cr3t").without("s3cr3t")
    assert refused.message == f"bad token {REDACTED}"


def test_an_empty_secret_changes_nothing() -> None:
    outcome = ProviderOutcome.rejected("x", "words")
    assert outcome.without("") is outcome

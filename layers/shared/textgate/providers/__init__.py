"""Provider clients: each speaks one provider's wire format and answers with a `ProviderOutcome`."""

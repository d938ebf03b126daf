"""The local stack: the same handlers, moto as the AWS endpoint, and provider sandboxes, on one machine."""

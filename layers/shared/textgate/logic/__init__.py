"""Business logic: takes and returns models; I/O goes through textgate.dal and the provider clients."""

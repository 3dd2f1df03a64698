"""HTTP routes, each one NATS request (or a configuration read) and nothing more."""

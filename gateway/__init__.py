"""The only HTTP entry point: tenant from the Host, token verification, one NATS request per route."""

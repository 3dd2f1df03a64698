"""The platform's services: each a NATS micro service with its own database."""

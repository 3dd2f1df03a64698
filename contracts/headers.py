"""Header names carried by every bus message."""

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
PRINCIPAL = "Aizu-Principal"
IDEMPOTENCY_KEY = "Idempotency-Key"
#: Set by nats.micro on error replies; the body then holds an ``ErrorEnvelope``.
SERVICE_ERROR_CODE = "Nats-Service-Error-Code"
SERVICE_ERROR = "Nats-Service-Error"

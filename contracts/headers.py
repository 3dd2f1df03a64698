"""Header names carried by every bus message."""

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
PRINCIPAL = "Aizu-Principal"
IDEMPOTENCY_KEY = "Idempotency-Key"
#: Set by nats.micro on error replies; the body then holds an ``ErrorEnvelope``.
SERVICE_ERROR_CODE = "Nats-Service-Error-Code"
SERVICE_ERROR = "Nats-Service-Error"
#: "0": the caller has added its share of unanswered questions to the staff's list (the
#: gateway's ``faq_log`` limit); the search still answers, the question is not logged.
LOG_UNANSWERED = "Aizu-Log-Unanswered"

"""What every service process shares: the micro-service base, database sessions, telemetry."""

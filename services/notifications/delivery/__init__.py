"""Getting messages out: the resident's channel preferences, routing to their channels, the sender, rate limits, quiet hours, tracking and dead letters."""

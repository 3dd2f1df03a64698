"""The channels a delivery goes out on: email (and the development SMTP sink), web push, signed webhooks."""

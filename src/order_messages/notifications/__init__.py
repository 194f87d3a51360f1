"""E-mail notifications: the outbox rows written with each change (outbox), their
delivery (worker, email), and replies that come back by e-mail (inbound)."""

"""Outbound notifications: email templates, senders and the outbox drain."""

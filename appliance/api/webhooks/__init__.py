"""Webhook endpoints and their delivery log."""

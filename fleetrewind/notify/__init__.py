"""Telling people: Slack, injected and best effort."""

"""Collectors: the only stage that talks to servers. Failures become observation statuses."""

"""Unattended audits: schedules, metrics and delivery."""

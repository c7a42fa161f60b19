"""Suspect accounts, platforms, handle parsing, attribution and account links."""

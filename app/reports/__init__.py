"""Aggregate metrics and charts; never personal data."""

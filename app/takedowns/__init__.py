"""Takedown requests to platforms, their notices and re-notices."""

"""Append-only, hash-chained audit log. Every domain writes to it, so it imports none of them."""

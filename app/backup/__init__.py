"""Backups: a consistent, encrypted, verifiable copy of the database and the sealed files, and
its restore on an empty machine."""

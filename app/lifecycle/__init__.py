"""Retention and erasure: records past their rule go, and a supervisor's early erasure."""

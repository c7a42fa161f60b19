"""Users, server-side sessions, roles and permissions, CSRF, API keys."""

"""Master key rotation: what is sealed under which master key, and moving it to the current one."""

"""RQ job entry points: thin wrappers that call the domain and log what they did."""

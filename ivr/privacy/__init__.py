"""Data protection: what is held about a victim, and erasing it."""

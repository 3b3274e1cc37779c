"""End-to-end tests: the real server over loopback HTTP with SDK devices."""

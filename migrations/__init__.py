"""Alembic migrations (Flask-Migrate): the only way the schema changes."""

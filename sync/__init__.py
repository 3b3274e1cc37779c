"""Shared sync core: clocks, change format, merge rules and wire schemas; no Flask, no HTTP."""

#: Version of the change format and entity fields. A device states the version it was built
#: against; the server accepts the versions listed in ``COMPATIBLE_SCHEMA_VERSIONS``.
SCHEMA_VERSION = 1
COMPATIBLE_SCHEMA_VERSIONS = frozenset({1})

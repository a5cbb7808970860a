"""The incident record: incidents and their lifecycle, the hash-chained timeline, roles, people, clocks,
the catalog of severities and roles, the plain rows services hand out, and the checks on the record."""

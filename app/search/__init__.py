"""The prisoner search (by prison number, name or alias) and the prisoner dossier: read-only,
every read audited. Cell searches are another package's."""

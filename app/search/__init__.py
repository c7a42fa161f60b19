"""Search by prisoner and the prisoner dossier: read-only, every read audited."""

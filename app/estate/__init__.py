"""Establishments, cells, prisoners and their occupancy: the reference data of the estate."""

"""`cellwatch import estate DIR`: load establishments, cells, prisoners, occupancy and aliases
from a records-system CSV extract. Formats: app/estate/IMPORT.md."""

from app.estate.importing.files import Problem
from app.estate.importing.run import (
    Counts,
    ImportFailed,
    ImportReport,
    check_folder,
    import_folder,
    record_failure,
)

__all__ = ["Counts", "ImportFailed", "ImportReport", "Problem", "check_folder", "import_folder",
           "record_failure"]

"""Run records: schema, content-addressed atomic store, provenance.

One JSON record per (model, task, seed, ...) run, named by a hash of the run's inputs; see
docs/ARCHITECTURE.md "Records and leaderboards". Leaderboards are computed only from these records.
"""

from rsbench.atomic_io import atomic_write_bytes, atomic_write_text
from rsbench.results.provenance import environment, git_revision
from rsbench.results.record import (
    SCHEMA_VERSION,
    RecordError,
    failure_info,
    load_record,
    new_record,
    record_id,
    validate_record,
)
from rsbench.results.store import RecordWarning, ResultStore, safe_name

__all__ = [
    "SCHEMA_VERSION",
    "RecordError",
    "RecordWarning",
    "ResultStore",
    "atomic_write_bytes",
    "atomic_write_text",
    "environment",
    "failure_info",
    "git_revision",
    "load_record",
    "new_record",
    "record_id",
    "safe_name",
    "validate_record",
]

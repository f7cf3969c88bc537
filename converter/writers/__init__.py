"""Writers: Bundle JSON / NDJSON and the OperationOutcome report."""

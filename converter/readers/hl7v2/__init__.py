"""HL7 v2 reader (in progress)."""

"""Small builders shared by every reader: ids, references, datatypes, dates."""

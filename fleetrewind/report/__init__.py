"""What a run leaves behind for people and machines: JSON, JUnit, the HTML matrix, text tables."""

"""What the tool needs of a scheduler (``protocol.py``), and the platform's own words: the fleet, its history."""

"""Pure: tags and image references -> releases -> the date index (rollback.json)."""

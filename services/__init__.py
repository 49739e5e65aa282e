"""The nameko services every station runs, and the extensions they share."""

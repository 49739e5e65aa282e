"""What only the district centre runs: the catalogue master and its editing desk."""

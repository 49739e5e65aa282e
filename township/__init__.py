"""What a township public service centre runs."""

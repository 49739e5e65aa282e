"""Domain code shared by every station: no nameko and no broker client here."""

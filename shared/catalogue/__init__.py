"""The district's item catalogue: what an item is, and how versions and hashes work."""

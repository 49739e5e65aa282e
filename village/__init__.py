"""What a village convenience station runs."""

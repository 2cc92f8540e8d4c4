"""Small reusable widgets and rendering helpers for the UI."""

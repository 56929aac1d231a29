"""Stylesheets and static files shipped with the app."""

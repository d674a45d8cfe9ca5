"""The database: events, feedback and gaps (service/store/schema.py), migrations, the background writer."""

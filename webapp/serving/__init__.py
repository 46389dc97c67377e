"""Running in production: proxy headers, JSON logs, health and readiness, metrics, gunicorn."""

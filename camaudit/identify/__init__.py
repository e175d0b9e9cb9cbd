"""camaudit.identify package."""

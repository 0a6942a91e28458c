"""Text-to-speech adapters: a streaming base class and engines (``espeak`` is the offline default)."""

"""Adapters to the services around the avatar: LLMs (``llm/``) and TTS engines (``tts/``),
one vendor per module behind a small streaming base class (after pipecat's services)."""

"""Adapters to the services around the avatar: LLMs (``llm/``) and TTS engines (``tts/``),
one vendor per module behind a small streaming base class (after pipecat's services).
``openai_http`` holds the HTTP policy the OpenAI-compatible adapters share (retries,
timeouts, cancellation); ``openai_server`` serves dhsdk's own LLM and TTS over that protocol."""

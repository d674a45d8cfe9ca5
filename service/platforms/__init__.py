"""What the platforms operators already use need of the core, kept out of the routers: Dify's External
Knowledge API (dify: knowledge ids, metadata conditions, records) and OpenAI-compatible chat (chat:
the mode a message asks for, follow-ups, the markdown reply); models: both platforms' wire formats.
The routers in service/api/routers/ (dify, openai_compat) only translate."""

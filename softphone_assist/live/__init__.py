"""The live app without Qt: the session that pumps audio, IPC, TTS and the call log, and its composition."""

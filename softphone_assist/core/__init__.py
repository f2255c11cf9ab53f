"""The pure core: records, detector and script settings, detection, the script engine and the one Pipeline.

No GUI, audio I/O, TTS, clock, threads, sockets or databases: tests/test_architecture.py checks this
whole package. Live, replay and audit are shells around it.
"""

"""How `tongban up` and the host processes it starts stop together.

A stop signal to the launcher is passed on to every host; a host is told its launcher's
PID in PARENT_ENV and stops by itself once that launcher is gone (killed outright, its
terminal closed), instead of serving on where nobody sees it."""
import signal

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
PARENT_ENV = "TONGBAN_PARENT_PID"

"""Services of the partnerships app: functions that write, one idea a module."""
